using Npgsql;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// Folds the per-connection rows of <c>task_state_counts</c> (see the StateCounts migration) into slot 0, so the
/// table stays a few dozen rows however many connections come and go. Rows a writer holds right now are skipped,
/// never waited for; one fold runs at a time.
/// </summary>
public sealed class StateCounts(NpgsqlDataSource dataSource)
{
    internal const string FoldSql =
        """
        WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtext('task_state_counts')) AS held),
        gone AS (
            DELETE FROM task_state_counts
            WHERE (SELECT held FROM lock) AND slot <> 0 AND (state, slot) IN (
                SELECT state, slot FROM task_state_counts WHERE slot <> 0 FOR UPDATE SKIP LOCKED)
            RETURNING state, n)
        INSERT INTO task_state_counts AS c (state, slot, n)
        SELECT state, 0, sum(n) FROM gone GROUP BY state ORDER BY state
        ON CONFLICT (state, slot) DO UPDATE SET n = c.n + excluded.n
        """;

    public async Task FoldAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(FoldSql);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
