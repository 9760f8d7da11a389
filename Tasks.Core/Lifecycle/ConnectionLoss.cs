using Npgsql;

namespace Tasks.Core.Lifecycle;

/// <summary>What counts as losing the database or the broker rather than a task's own failure.</summary>
public static class ConnectionLoss
{
    /// <summary>
    /// True when <paramref name="e"/> (or an exception it wraps, as EF Core and MassTransit do) says a connection
    /// was lost or refused: Npgsql's transient client-side errors (I/O, connect), PostgreSQL's
    /// connection-exception class 08 and its shutdown codes 57P01–57P03 (a restart), and a closed or unreachable
    /// AMQP connection. Timeouts, deadlocks and serialization failures are not.
    /// See docs/design.md#the-lease-is-the-only-licence-to-run-losing-a-connection-is-not-a-tasks-failure-issue-23-worker
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
                case NpgsqlException { InnerException: TimeoutException }:
                case TimeoutException:
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
