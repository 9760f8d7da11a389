using Npgsql;
using Tasks.Core.Entities;
using Tasks.Core.Queries;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// <see cref="RetryByHand"/> for every task of a filter, a batch at a time: the same columns reset, and each batch's
/// rows given back (with the <c>updated_at</c> the queued mark matches) to be published once it is committed.
/// </summary>
public sealed class RetryMatching(NpgsqlDataSource dataSource)
{
    [Makes(nameof(TaskLifecycle.RetryByHand))]
    internal const string Sql =
        """
        UPDATE tasks SET state = 'pending', attempts_base = attempts, cancel_requested = false, expires_at = NULL,
            finished_at = NULL, scheduled_for = NULL, result = NULL, updated_at = now(),
            publish_attempts = NULL, publish_after = NULL
        WHERE id IN (SELECT id FROM tasks WHERE state = $1 AND id > $2{0} ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
            AND state IN ('failed', 'canceled', 'expired')
        RETURNING id, name, queue, updated_at
        """;

    /// <summary>Retries the next <paramref name="limit"/> tasks in <paramref name="state"/> above <paramref name="after"/>; none left: empty.</summary>
    public Task<List<TaskRecord>> BatchAsync(TaskState state, Guid after, TaskFilter filter, int limit, CancellationToken ct) =>
        MatchingBatch.RunAsync(dataSource, Sql, state, after, limit, filter, [], r => new TaskRecord
        {
            Id = r.GetGuid(0), Name = r.GetString(1), Queue = r.GetString(2), Args = "", UpdatedAt = r.GetFieldValue<DateTimeOffset>(3),
        }, ct);
}
