using Npgsql;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// For a message whose task could not be claimed: records what that implies when the message itself is the only
/// thing that will ever notice: canceled or expired before it ran, or given up after its workers crashed too often.
/// </summary>
public sealed class Skip(NpgsqlDataSource dataSource, TimeSpan lease)
{
    // The rows are locked and tested first, so the lost attempt of a running one can be recorded (Lost): an
    // UPDATE's RETURNING sees only the new row.
    [Makes(nameof(TaskLifecycle.Expire), nameof(TaskLifecycle.CancelAtClaim), nameof(TaskLifecycle.GiveUp))]
    internal const string Sql =
        $"""
        WITH held AS MATERIALIZED (
            SELECT id, attempts, worker, started_at, (state = 'running') AS lost FROM tasks
            WHERE id = $1 AND (
                  (state IN ('pending', 'queued') AND (cancel_requested OR expires_at <= now()))
               OR (state = 'running' AND message_id = $2 AND (heartbeat_at < now() - $3::interval OR heartbeat_at IS NULL)))
            FOR UPDATE),
        lost AS (
            INSERT INTO task_attempts (task_id, attempt, worker, started_at, ended_at, outcome, error)
            SELECT id, attempts, worker, started_at, now(), 'lost', '{Lost.Error}' FROM held WHERE lost
            ON CONFLICT DO NOTHING),
        skipped AS (
            UPDATE tasks t SET finished_at = now(), updated_at = now(),
                state = CASE WHEN t.cancel_requested THEN 'canceled'
                             WHEN t.expires_at <= now() THEN 'expired'
                             ELSE 'failed' END,
                error = CASE WHEN t.cancel_requested OR t.expires_at <= now() THEN t.error
                             ELSE 'Its worker was lost during each of its last attempts; given up (poison message?).' END
            FROM held WHERE t.id = held.id
            RETURNING t.state, t.name, t.queue)
        SELECT state, name, queue FROM skipped
        """;

    /// <summary>Returns the skip recorded; null when the message is simply stale or a duplicate.</summary>
    public async Task<SkippedTask?> SkipAsync(Guid id, Guid messageId, CancellationToken ct)
    {
        await using var skip = dataSource.CreateCommand(Sql);
        skip.Parameters.Add(new() { Value = id });
        skip.Parameters.Add(new() { Value = messageId });
        skip.Parameters.Add(new() { Value = lease });
        await using var skipped = await skip.ExecuteReaderAsync(ct);
        return await skipped.ReadAsync(ct)
            ? new SkippedTask(id, TaskStates.Parse(skipped.GetString(0)), skipped.GetString(1), skipped.GetString(2))
            : null;
    }
}
