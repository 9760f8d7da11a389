using Npgsql;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Cancels a task for the API: one that hasn't started never will; a running one is only flagged
/// (<c>cancel_requested</c>), and its worker fires its token and records the cancel (<see cref="Cancel"/>).
/// </summary>
public sealed class RequestCancel(NpgsqlDataSource dataSource, TimeProvider clock, CurrentState current)
{
    [Makes(nameof(TaskLifecycle.CancelWaiting), nameof(TaskLifecycle.RequestCancel))]
    internal const string Sql =
        """
        UPDATE tasks SET updated_at = $2,
            cancel_requested = (state = 'running'),
            state = CASE WHEN state = 'running' THEN 'running' ELSE 'canceled' END,
            finished_at = CASE WHEN state = 'running' THEN finished_at ELSE $2 END,
            error = CASE WHEN state = 'running' THEN error ELSE 'Canceled before it ran.' END
        WHERE id = $1 AND state IN ('pending', 'scheduled', 'queued', 'running')
        RETURNING state
        """;

    /// <summary>Returns whether the request was taken and the task's state after it (null: no such task).</summary>
    public async Task<(bool Accepted, TaskState? State)> RequestAsync(Guid id, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(Sql);
        cmd.Parameters.Add(new() { Value = id });
        cmd.Parameters.Add(new() { Value = clock.GetUtcNow() });
        return await cmd.ExecuteScalarAsync(ct) is string moved
            ? (true, TaskStates.Parse(moved))
            : (false, await current.GetAsync(id, ct));
    }
}
