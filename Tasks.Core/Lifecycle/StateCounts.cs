using Npgsql;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// Folds the per-connection rows of <c>task_state_counts</c> (see the StateCounts migration) and of
/// <c>task_failed_groups</c> (the FailedGroups migration) into slot 0, so the tables stay small however many
/// connections come and go. Rows a writer holds right now are skipped, never waited for; one fold runs at a time.
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

    /// <summary>The same for the failed groups; a group emptied to nothing is dropped (it is shown only while n &gt; 0).</summary>
    internal const string FoldFailedGroupsSql =
        """
        WITH lock AS (SELECT pg_try_advisory_xact_lock(hashtext('task_failed_groups')) AS held),
        gone AS (
            DELETE FROM task_failed_groups
            WHERE (SELECT held FROM lock) AND slot <> 0 AND ctid IN (
                SELECT ctid FROM task_failed_groups WHERE slot <> 0 FOR UPDATE SKIP LOCKED)
            RETURNING name, error, n, last_failed_at)
        INSERT INTO task_failed_groups AS g (name, error, slot, n, last_failed_at)
        SELECT name, error, 0, sum(n), max(last_failed_at) FROM gone GROUP BY name, error ORDER BY name, error
        ON CONFLICT (name, md5(error), slot) DO UPDATE
            SET n = g.n + excluded.n, last_failed_at = greatest(g.last_failed_at, excluded.last_failed_at);
        DELETE FROM task_failed_groups g WHERE slot = 0 AND n = 0 AND pg_try_advisory_xact_lock(hashtext('task_failed_groups'))
            AND NOT EXISTS (SELECT FROM task_failed_groups o WHERE o.name = g.name AND o.error = g.error AND o.slot <> 0)
        """;

    public async Task FoldAsync(CancellationToken ct)
    {
        // One batch, one implicit transaction: the advisory lock covers both statements of the failed groups.
        await using var cmd = dataSource.CreateCommand(FoldSql + ";\n" + FoldFailedGroupsSql);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
