using Npgsql;

namespace Tasks.Core.Lifecycle;

internal static class Transient
{
    /// <summary>
    /// Runs a write again when the database refused it as a whole: a deadlock victim, or a pooled connection whose
    /// session a restart (or <c>pg_terminate_backend</c>) ended while it sat idle, which nobody learns of before
    /// using it, or whose socket was cut (a crash, a failover: Npgsql's own transient I/O errors). A cut socket may
    /// hide a write that committed: every write retried here is conditional (on the task's state and attempt), so
    /// repeating one that had committed changes nothing; its caller may then read "not recorded", which costs at
    /// most a lease (the relay takes the task over). The write must be safe to repeat.
    /// <para>
    /// Npgsql empties the pool itself when it meets a session the server ended, so only the first write to meet
    /// one after a restart needs this, whichever it is (a progress report, an outcome, a batch of claims).
    /// </para>
    /// </summary>
    public static Task RetryAsync(Func<Task> write) => RetryAsync(async () =>
    {
        await write();
        return true;
    });

    /// <inheritdoc cref="RetryAsync(Func{Task})"/>
    public static async Task<TResult> RetryAsync<TResult>(Func<Task<TResult>> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (NpgsqlException e) when (e.IsTransient && attempt < 3)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt));
            }
        }
    }
}

/// <summary>What counts as losing the database or the broker rather than a task's own failure.</summary>
public static class ConnectionLoss
{
    /// <summary>
    /// True when <paramref name="e"/> (or an exception it wraps, as EF Core and MassTransit do) says a connection
    /// was lost or refused: Npgsql's transient client-side errors (I/O, connect, timeout), PostgreSQL's
    /// connection-exception class 08 and its shutdown codes 57P01–57P03 (admin or crash shutdown, cannot connect
    /// now: a restart), and a closed or unreachable AMQP connection. Deadlocks and serialization failures are not:
    /// they are the handler's own business.
    /// </summary>
    public static bool Is(Exception? e)
    {
        for (var depth = 0; e is not null && depth < 16; depth++, e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException p when p.SqlState.StartsWith("08", StringComparison.Ordinal)
                                              || p.SqlState is "57P01" or "57P02" or "57P03":
                    return true;
                case PostgresException:
                    return false;
                case NpgsqlException { IsTransient: true }:
                    return true;
                case RabbitMQ.Client.Exceptions.AlreadyClosedException or RabbitMQ.Client.Exceptions.BrokerUnreachableException
                    or MassTransit.RabbitMqConnectionException:
                    return true;
                case AggregateException { InnerExceptions.Count: 1 } a:
                    e = a; // its InnerException is the one inside
                    break;
            }
        }
        return false;
    }
}
