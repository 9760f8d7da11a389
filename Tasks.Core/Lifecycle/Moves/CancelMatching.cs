using Npgsql;
using Tasks.Core.Queries;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// <see cref="TaskLifecycle.CancelWaiting"/> for every task of a filter that hasn't started, a batch at a time, as
/// <see cref="RequestCancel"/> cancels one. A queued task's message is dropped at its claim.
/// </summary>
public sealed class CancelMatching(NpgsqlDataSource dataSource, TimeProvider clock)
{
    [Makes(nameof(TaskLifecycle.CancelWaiting))]
    internal const string Sql =
        """
        UPDATE tasks SET state = 'canceled', updated_at = $4, finished_at = $4, error = 'Canceled before it ran.'
        WHERE id IN (SELECT id FROM tasks WHERE state = $1 AND id > $2{0} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
            AND state IN ('pending', 'scheduled', 'queued')
        RETURNING id, name, queue
        """;

    public Task<List<(Guid Id, string Name, string Queue)>> BatchAsync(TaskState state, Guid after, TaskFilter filter, int limit, CancellationToken ct) =>
        MatchingBatch.RunAsync(dataSource, Sql, state, after, limit, filter, [clock.GetUtcNow()],
            r => (r.GetGuid(0), r.GetString(1), r.GetString(2)), ct);
}
