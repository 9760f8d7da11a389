using Npgsql;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>Sends a <c>failed</c>, <c>canceled</c> or <c>expired</c> task round again with a fresh allowance of attempts.</summary>
public sealed class RetryByHand(NpgsqlDataSource dataSource)
{
    [Makes(nameof(TaskLifecycle.RetryByHand))]
    internal const string Sql =
        """
        UPDATE tasks SET state = 'pending', attempts_base = attempts, cancel_requested = false, expires_at = NULL,
            finished_at = NULL, scheduled_for = NULL, result = NULL, updated_at = now(),
            publish_attempts = NULL, publish_after = NULL
        WHERE id = $1 AND state IN ('failed', 'canceled', 'expired')
        """;

    /// <summary>Returns false when the task is not in one of those states.</summary>
    public async Task<bool> RetryAsync(Guid id, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(Sql);
        cmd.Parameters.Add(new() { Value = id });
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }
}
