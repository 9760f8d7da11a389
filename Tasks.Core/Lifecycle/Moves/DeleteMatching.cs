using Npgsql;
using Tasks.Core.Queries;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Deletes the finished tasks of a filter, a batch at a time (the triggers take their task_lookup rows and counts
/// with them). Only finished tasks: nobody holds or will publish one.
/// </summary>
public sealed class DeleteMatching(NpgsqlDataSource dataSource)
{
    [Makes(nameof(TaskLifecycle.Delete))]
    internal const string Sql =
        """
        DELETE FROM tasks
        WHERE id IN (SELECT id FROM tasks WHERE state = $1 AND id > $2{0} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
            AND state IN ('succeeded', 'failed', 'canceled', 'expired')
        RETURNING id
        """;

    public Task<List<Guid>> BatchAsync(TaskState state, Guid after, TaskFilter filter, int limit, CancellationToken ct) =>
        MatchingBatch.RunAsync(dataSource, Sql, state, after, limit, filter, [], r => r.GetGuid(0), ct);
}
