using Npgsql;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// For a message whose task could not be claimed: records what that implies when the message itself is the only
/// thing that will ever notice: canceled or expired before it ran, or given up after its workers crashed too often.
/// </summary>
public sealed class Skip(NpgsqlDataSource dataSource, TimeSpan lease)
{
    [Makes(nameof(TaskLifecycle.Expire), nameof(TaskLifecycle.CancelAtClaim), nameof(TaskLifecycle.GiveUp))]
    internal const string Sql =
        """
        UPDATE tasks SET finished_at = now(), updated_at = now(),
            state = CASE WHEN cancel_requested THEN 'canceled'
                         WHEN expires_at <= now() THEN 'expired'
                         ELSE 'failed' END,
            error = CASE WHEN cancel_requested OR expires_at <= now() THEN error
                         ELSE 'Its worker was lost during each of its last attempts; given up (poison message?).' END
        WHERE id = $1 AND (
              (state IN ('pending', 'queued') AND (cancel_requested OR expires_at <= now()))
           OR (state = 'running' AND message_id = $2 AND (heartbeat_at < now() - $3::interval OR heartbeat_at IS NULL)))
        RETURNING state, name, queue
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
