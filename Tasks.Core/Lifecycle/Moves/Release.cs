using Npgsql;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// The outbox relay's round, for the scheduler, in three statements. Due <c>scheduled</c> tasks, and <c>running</c>
/// tasks whose lease ran out, become <c>pending</c> (committed at once, back-dated so they count as orphaned). Then
/// orphaned <c>pending</c> tasks (and <c>queued</c> ones whose message may be lost) are locked, published and marked
/// <c>queued</c> in one transaction, so two schedulers never publish the same task. Every time compared is the
/// database's. See docs/design.md#the-relay-refused-publishes-the-databases-clock-lost-queued-messages-issue-23
/// </summary>
public sealed class Release(NpgsqlDataSource dataSource, TimeSpan lease)
{
    [Makes(nameof(TaskLifecycle.ReleaseDue))]
    internal const string DueSql =
        """
        UPDATE tasks SET state = 'pending', updated_at = now() - $1::interval
        WHERE id IN (SELECT id FROM tasks WHERE state = 'scheduled' AND scheduled_for <= now()
                     ORDER BY scheduled_for LIMIT $2 FOR UPDATE SKIP LOCKED)
        """;

    // Lost the lease (killed, or cut off for good): another attempt, or failed when crashes used up the allowance.
    // The attempt is recorded as lost in the same statement (see docs/design.md#attempt-history-issue-29).
    [Makes(nameof(TaskLifecycle.ReleaseLost))]
    internal const string LostSql =
        $"""
        WITH ended AS (
            UPDATE tasks SET updated_at = now() - $2::interval, heartbeat_at = NULL,
                state = CASE WHEN attempts - attempts_base < max_attempts + $4 THEN 'pending' ELSE 'failed' END,
                finished_at = CASE WHEN attempts - attempts_base < max_attempts + $4 THEN NULL ELSE now() END,
                error = CASE WHEN attempts - attempts_base < max_attempts + $4 THEN error
                             ELSE 'Its worker was lost during each of its last attempts; given up (poison message?).' END
            WHERE id IN (SELECT id FROM tasks WHERE state = 'running' AND (heartbeat_at < now() - $1::interval OR heartbeat_at IS NULL)
                         ORDER BY heartbeat_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            RETURNING id, attempts, worker, started_at)
        INSERT INTO task_attempts (task_id, attempt, worker, started_at, ended_at, outcome, error)
        SELECT id, attempts, worker, started_at, now(), 'lost', '{Lost.Error}' FROM ended ON CONFLICT DO NOTHING
        """;

    // A row in its publish back-off waits for its time (publish_after), however old it is.
    private const string PendingOrphansSql =
        """
        SELECT id, name, queue, trace_parent FROM tasks
        WHERE state = 'pending' AND updated_at <= now() - $1::interval AND (publish_after IS NULL OR publish_after <= now())
        ORDER BY updated_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
        """;

    private const string QueuedOrphansSql =
        """
        SELECT id, name, queue, trace_parent FROM tasks
        WHERE state = 'queued' AND updated_at <= now() - $1::interval AND (publish_after IS NULL OR publish_after <= now())
        ORDER BY updated_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
        """;

    // The rows are this transaction's (locked above): the state test only says which they are.
    [Makes(nameof(TaskLifecycle.Republish))]
    internal const string PublishedSql =
        """
        UPDATE tasks SET state = 'queued', updated_at = clock_timestamp(), publish_attempts = NULL, publish_after = NULL
        WHERE id = ANY($1) AND state IN ('pending', 'queued')
        """;

    public async Task<ReleaseResult> ReleaseAsync(
        ReleaseSettings settings, Func<IReadOnlyList<TaskToPublish>, CancellationToken, Task<IReadOnlyList<PublishRefusal>>> publish,
        CancellationToken ct)
    {
        await ExecuteAsync(DueSql, [settings.PendingGrace, settings.BatchSize], ct);
        await ExecuteAsync(LostSql, [lease, settings.PendingGrace, settings.BatchSize, TakeOver.CrashAllowance], ct);
        return await PublishOrphansAsync(settings, publish, ct);
    }

    private async Task ExecuteAsync(string sql, object[] parameters, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(sql);
        foreach (var p in parameters) cmd.Parameters.Add(new() { Value = p });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// A worker may receive a message before the commit: its claim accepts <c>pending</c> and waits for the row lock.
    /// A crash after publishing and before the commit only means the task is published again (the worker drops the
    /// duplicate). Refused tasks are left to <see cref="RefusePublish"/>.
    /// </summary>
    private async Task<ReleaseResult> PublishOrphansAsync(
        ReleaseSettings settings, Func<IReadOnlyList<TaskToPublish>, CancellationToken, Task<IReadOnlyList<PublishRefusal>>> publish,
        CancellationToken ct)
    {
        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var orphans = await ReadOrphansAsync(new NpgsqlCommand(PendingOrphansSql, conn, tx), settings.PendingGrace, settings.BatchSize, ct);
        if (settings.QueuedGrace is { } queuedGrace && orphans.Count < settings.BatchSize)
            orphans.AddRange(await ReadOrphansAsync(new NpgsqlCommand(QueuedOrphansSql, conn, tx), queuedGrace, settings.BatchSize - orphans.Count, ct));
        if (orphans.Count == 0) return ReleaseResult.None;

        var refusals = await publish(orphans, ct);
        var refusedIds = refusals.Select(r => r.Task.Id).ToHashSet();
        await using (var update = new NpgsqlCommand(PublishedSql, conn, tx))
        {
            update.Parameters.Add(new() { Value = orphans.Where(t => !refusedIds.Contains(t.Id)).Select(t => t.Id).ToArray() });
            await update.ExecuteNonQueryAsync(ct);
        }
        var (refused, deferred) = await RefusePublish.RecordAsync(conn, tx, refusals, settings, ct);
        await tx.CommitAsync(ct);
        return new ReleaseResult(orphans.Count - refusedIds.Count, refused, deferred);
    }

    private static async Task<List<TaskToPublish>> ReadOrphansAsync(NpgsqlCommand select, TimeSpan grace, int limit, CancellationToken ct)
    {
        await using var command = select;
        select.Parameters.Add(new() { Value = grace });
        select.Parameters.Add(new() { Value = limit });
        var orphans = new List<TaskToPublish>();
        await using var reader = await select.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            orphans.Add(new TaskToPublish(reader.GetGuid(0), reader.GetString(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3)));
        return orphans;
    }
}
