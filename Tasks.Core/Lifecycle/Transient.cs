using Npgsql;

namespace Tasks.Core.Lifecycle;

internal static class Transient
{
    /// <summary>
    /// Runs a write again when the database refused it as a whole: a deadlock victim, or a pooled connection whose
    /// session a restart (or <c>pg_terminate_backend</c>) ended while it sat idle, which nobody learns of before
    /// using it. The statement was rolled back or never ran, so nothing of it committed. Any other failure (a
    /// connection lost mid-write, which may have committed) is not retried here. The write must be safe to repeat.
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
            catch (PostgresException e) when (e.IsTransient && attempt < 3)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt));
            }
        }
    }
}
