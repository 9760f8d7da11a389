using System.Collections.Frozen;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Npgsql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Tasks.Core.Data;
using Tasks.Core.Hosting;
using Tasks.Core.Entities;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// The task lifecycle, in one place: the states, the moves allowed between them, and the timestamp each move sets.
/// Nobody else writes a task's state.
/// <code>
///   pending ──publish──▶ queued ──claim──▶ running ──▶ succeeded
///      ▲                   │                │  │  └──▶ failed ──retry by hand──▶ pending
///      │ release when due  │ cancel/expire  │  └─────▶ canceled / expired ──retry by hand──▶ pending
///   scheduled ◀────────────┼── back-off ────┘
/// </code>
/// Moves a worker makes are single conditional UPDATEs, so two processes can never both make the same move:
/// a claim only succeeds from <c>pending</c>/<c>queued</c> (or from <c>running</c> when the very message that started the
/// running attempt comes back: the broker redelivered it because its worker died, or the worker retries it after an
/// infrastructure failure) and its worker's lease (<c>Tasks:LeaseSeconds</c>) has run out; and an outcome is only
/// recorded by the attempt that holds the claim. Any other message for a running task is dropped: a live owner
/// finishes it, and a dead one's lease runs out, after which the relay puts the task back (<see cref="ReleaseAsync"/>).
/// </summary>
public sealed class TaskStateMachine(
    NpgsqlDataSource dataSource,
    [FromKeyedServices(TasksCoreExtensions.Relaxed)] NpgsqlDataSource relaxed, // docs/design.md, "Writes that don't wait for the WAL flush"
    TimeProvider clock,
    IOptions<TasksOptions> options) : IAsyncDisposable
{
    private readonly TimeSpan _lease = TimeSpan.FromSeconds(options.Value.LeaseSeconds);

    public static readonly FrozenDictionary<TaskState, string> Names = Enum.GetValues<TaskState>()
        .ToFrozenDictionary(s => s, s => s.ToString().ToLowerInvariant());

    private static readonly FrozenDictionary<string, TaskState> ByName =
        Names.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    internal static readonly ValueConverter<TaskState, string> Converter = new(s => NameOf(s), s => Parse(s));

    // The set-based statements of the hot path: each finds its rows by key only (see ByKeyStatement).
    internal const string MarkQueuedSql =
        """
        -- Only rows nobody has written since they were published (the same updated_at) are marked: a row a worker
        -- has claimed (most are, as the mark waits a moment), or that was canceled and retried by hand meanwhile
        -- (whose new publish may have failed: it must stay pending for the relay), is left out before it is
        -- locked, so it costs no lock. Rows someone holds right now are skipped, never waited for (no deadlock
        -- with a claim of the same rows): whoever holds one moves it on, or the relay publishes it again.
        -- PostgreSQL re-checks the join on the newest version of each row it does lock.
        WITH l AS MATERIALIZED (
            SELECT u.id, u.state = 'pending' AS markable
            FROM unnest($1::uuid[], $2::timestamptz[]) AS p(id, updated_at)
                 JOIN tasks u ON u.id = p.id AND u.updated_at = p.updated_at
            FOR UPDATE OF u SKIP LOCKED)
        UPDATE tasks t SET state = 'queued', updated_at = now()
        FROM l WHERE t.id = l.id AND l.markable
        """;

    internal const string ClaimSql =
        """
        WITH l AS MATERIALIZED (
            SELECT u.id, c.worker, c.message_id,
                   NOT u.cancel_requested AND (u.expires_at IS NULL OR u.expires_at > now())
                   AND (u.state IN ('pending', 'queued')
                        OR (u.state = 'running' AND u.message_id = c.message_id AND (u.heartbeat_at < now() - $6::interval OR u.heartbeat_at IS NULL)
                            AND u.attempts - u.attempts_base < u.max_attempts + $5)) AS claimable
            FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS c(id, worker, message_id) JOIN tasks u ON u.id = c.id
            ORDER BY u.id FOR UPDATE OF u)
        UPDATE tasks t SET state = 'running', attempts = t.attempts + 1, started_at = $4, finished_at = NULL,
            worker = l.worker, message_id = l.message_id, updated_at = $4, heartbeat_at = now(),
            progress_current = NULL, progress_total = NULL, progress_message = NULL
        FROM l WHERE t.id = l.id AND l.claimable
        RETURNING t.id, t.name, t.queue, t.args, t.attempts, t.max_attempts, t.attempts_base, t.time_limit_seconds,
                  t.backoff_seconds, coalesce(t.scheduled_for, t.enqueued_at), t.worker
        """;

    internal static readonly string ClaimSkippingHeldSql = ClaimSql.Replace("FOR UPDATE OF u)", "FOR UPDATE OF u SKIP LOCKED)", StringComparison.Ordinal);

    internal const string SucceedSql =
        """
        WITH l AS MATERIALIZED (
            SELECT u.id, s.result, u.state = 'running' AND u.attempts = s.attempt AS held
            FROM unnest($1::uuid[], $2::int[], $3::text[]) AS s(id, attempt, result) JOIN tasks u ON u.id = s.id
            ORDER BY u.id FOR UPDATE OF u)
        UPDATE tasks t SET state = 'succeeded', result = l.result::jsonb, error = NULL, error_details = NULL,
            finished_at = $4, updated_at = $4, cancel_requested = false
        FROM l WHERE t.id = l.id AND l.held
        RETURNING t.id
        """;

    internal const string HeartbeatSql =
        """
        -- Rows locked by someone (an outcome being recorded) are skipped, the rest locked in id order like
        -- every other many-row write here: no deadlock with a batch of successes.
        WITH l AS MATERIALIZED (
            SELECT u.id, u.state = 'running' AND u.worker = $2 AS mine
            FROM unnest($1::uuid[]) AS r(id) JOIN tasks u ON u.id = r.id
            ORDER BY u.id FOR UPDATE OF u SKIP LOCKED)
        UPDATE tasks t SET heartbeat_at = now()
        FROM l WHERE t.id = l.id AND l.mine
        RETURNING t.id, t.cancel_requested
        """;

    public static string NameOf(TaskState state) => Names[state];

    private static TaskState Parse(string name) => ByName[name];

    public static bool TryParseState(string? name, out TaskState state) => ByName.TryGetValue(name ?? "", out state);

    public static bool IsFinished(TaskState state) =>
        state is TaskState.Succeeded or TaskState.Failed or TaskState.Canceled or TaskState.Expired;

    /// <summary>A new task starts <c>pending</c>, or <c>scheduled</c> when it must wait for its time.</summary>
    public static void Start(TaskRecord task, DateTimeOffset now, DateTimeOffset? runAt)
    {
        task.EnqueuedAt = now; // UpdatedAt is the database's: stamped by the insert
        if (runAt is { } at && at > now)
        {
            task.State = TaskState.Scheduled;
            task.ScheduledFor = at;
        }
        else
        {
            task.State = TaskState.Pending;
        }
    }

    /// <summary>
    /// Marks published tasks <c>queued</c>, <c>Tasks:QueuedMarkDelayMilliseconds</c> after the call, together with
    /// every other caller's (<see cref="WriteCoalescer{T}"/>); a task a worker has claimed by then is left alone. The
    /// returned task completes once the mark is committed; nobody needs to wait for it (a task left <c>pending</c>
    /// is only published again by the relay).
    /// </summary>
    public Task MarkQueuedAsync(IReadOnlyList<TaskRecord> tasks)
    {
        if (tasks.Count == 0) return Task.CompletedTask;
        var queued = LazyInitializer.EnsureInitialized(ref _queued, ref _sync, () => new WriteCoalescer<(Guid, DateTimeOffset)>(
            WriteQueuedAsync, maxItems: 100, linger: TimeSpan.FromMilliseconds(options.Value.QueuedMarkDelayMilliseconds)));
        return queued.WriteAsync([.. tasks.Select(t => (t.Id, t.UpdatedAt))]);
    }

    private WriteCoalescer<(Guid Id, DateTimeOffset UpdatedAt)>? _queued;
    private object? _sync;

    private async Task WriteQueuedAsync(List<(Guid Id, DateTimeOffset UpdatedAt)> tasks, CancellationToken ct)
    {
        await using var cmd = new ByKeyStatement(relaxed, MarkQueuedSql);
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.Id).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.UpdatedAt).ToArray() });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_claims is not null) await _claims.DisposeAsync();
        if (_successes is not null) await _successes.DisposeAsync();
        if (_queued is not null) await _queued.DisposeAsync();
    }

    /// <summary>
    /// How many times a task whose worker died mid-attempt is taken over beyond its attempts: a crash is not
    /// the task's failure, but a task that kills every worker that runs it must stop somewhere.
    /// </summary>
    public const int CrashAllowance = 3;

    /// <summary>
    /// Takes a task for one attempt. Returns no task when the message must be dropped: the task is finished, taken,
    /// canceled, expired, or unknown; a skip it implies is recorded here and returned as the state it left. A
    /// <c>running</c> task is taken over only by the message that started its current attempt (see the class
    /// comment); the caller makes sure this process isn't running the task right now.
    /// </summary>
    public async Task<(ClaimedTask? Task, SkippedTask? Skipped)> ClaimAsync(Guid id, string worker, Guid messageId, CancellationToken ct)
    {
        // Concurrent claims (one per message in flight) go to the database as one statement: one round trip and one
        // commit for all of them. Not cancelable once asked: the claim may commit either way.
        var claims = LazyInitializer.EnsureInitialized(ref _claims, ref _sync, () => new WriteCoalescer<Claim>(WriteClaimsAsync, maxItems: 1000));
        // Not taken by a batch: not claimable, or held by someone for a moment (a queued mark) or for longer (the
        // relay publishing it). Batches skip held rows rather than make every claim of this worker wait: the
        // claim goes with the next batch, and after that waits its turn alone.
        ClaimedTask? task = null;
        for (var round = 0; task is null && round < 2; round++)
        {
            var claim = new Claim(id, worker, messageId);
            await claims.WriteAsync([claim]);
            task = await claim.Result.Task;
        }
        task ??= await ClaimOneAsync(new Claim(id, worker, messageId), ct);
        return task is not null ? (task, null) : (null, await SkipAsync(id, messageId, ct));
    }

    private sealed record Claim(Guid Id, string Worker, Guid MessageId)
    {
        public TaskCompletionSource<ClaimedTask?> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private WriteCoalescer<Claim>? _claims;

    private Task WriteClaimsAsync(List<Claim> claims, CancellationToken ct) => WriteClaimsAsync(claims, skipLocked: true, ct);

    private async Task<ClaimedTask?> ClaimOneAsync(Claim claim, CancellationToken ct)
    {
        await WriteClaimsAsync([claim], skipLocked: false, ct);
        return await claim.Result.Task;
    }

    private async Task WriteClaimsAsync(List<Claim> claims, bool skipLocked, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        claims.Sort((a, b) => a.Id.CompareTo(b.Id));
        var taken = new Dictionary<Guid, ClaimedTask>();
        // Rows are locked in id order first, so two claiming statements that share rows can't deadlock; whether a
        // row may be claimed is decided on the row as locked (its latest version).
        await using (var cmd = new ByKeyStatement(dataSource, skipLocked ? ClaimSkippingHeldSql : ClaimSql))
        {
            cmd.Parameters.Add(new() { Value = claims.ConvertAll(c => c.Id).ToArray() });
            cmd.Parameters.Add(new() { Value = claims.ConvertAll(c => c.Worker).ToArray() });
            cmd.Parameters.Add(new() { Value = claims.ConvertAll(c => c.MessageId).ToArray() });
            cmd.Parameters.Add(new() { Value = now });
            cmd.Parameters.Add(new() { Value = CrashAllowance });
            cmd.Parameters.Add(new() { Value = _lease });
            try
            {
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var id = reader.GetGuid(0);
                    taken[id] = new ClaimedTask(id, reader.GetString(1), reader.GetString(2), reader.GetString(3),
                        Attempt: reader.GetInt32(4), MaxAttempts: reader.GetInt32(5), AttemptsBase: reader.GetInt32(6),
                        TimeLimitSeconds: reader.GetInt32(7), BackoffSeconds: reader.GetDouble(8),
                        DueAt: reader.GetFieldValue<DateTimeOffset>(9), StartedAt: now, Worker: reader.GetString(10));
                }
            }
            catch (Exception)
            {
                taken.Clear(); // the statement rolled back; the coalescer tries again or fails every caller
                throw;
            }
        }
        foreach (var c in claims) c.Result.TrySetResult(taken.GetValueOrDefault(c.Id));
    }

    /// <summary>
    /// For a message whose task could not be claimed: records a skip it implies (canceled or expired before it ran,
    /// or crashed too often) and returns it; null when the message is simply stale or a duplicate.
    /// </summary>
    private async Task<SkippedTask?> SkipAsync(Guid id, Guid messageId, CancellationToken ct)
    {
        // Not claimable. Record why, when the message itself is the only thing that will ever notice.
        await using var skip = dataSource.CreateCommand(
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
            """);
        skip.Parameters.Add(new() { Value = id });
        skip.Parameters.Add(new() { Value = messageId });
        skip.Parameters.Add(new() { Value = _lease });
        await using var skipped = await skip.ExecuteReaderAsync(ct);
        return await skipped.ReadAsync(ct)
            ? new SkippedTask(id, ByName[skipped.GetString(0)], skipped.GetString(1), skipped.GetString(2))
            : null;
    }

    /// <summary>
    /// Records success of attempts whose handlers wrote nothing to the database: concurrent ones in one statement
    /// (<see cref="WriteCoalescer{T}"/>). Returns whether the attempt still held the task.
    /// </summary>
    public async Task<bool> SucceedAsync(ClaimedTask task, string? resultJson)
    {
        var successes = LazyInitializer.EnsureInitialized(ref _successes, ref _sync, () => new WriteCoalescer<Success>(WriteSuccessesAsync, maxItems: 1000));
        var success = new Success(task.Id, task.Attempt, resultJson);
        await successes.WriteAsync([success]);
        return await success.Recorded.Task;
    }

    private sealed record Success(Guid Id, int Attempt, string? ResultJson)
    {
        public TaskCompletionSource<bool> Recorded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private WriteCoalescer<Success>? _successes;

    private async Task WriteSuccessesAsync(List<Success> successes, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        successes.Sort((a, b) => a.Id.CompareTo(b.Id));
        var recorded = new HashSet<Guid>();
        await using (var cmd = new ByKeyStatement(dataSource, SucceedSql))
        {
            cmd.Parameters.Add(new() { Value = successes.ConvertAll(c => c.Id).ToArray() });
            cmd.Parameters.Add(new() { Value = successes.ConvertAll(c => c.Attempt).ToArray() });
            cmd.Parameters.Add(new() { Value = successes.ConvertAll(c => c.ResultJson).ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = now });
            try
            {
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct)) recorded.Add(reader.GetGuid(0));
            }
            catch (Exception)
            {
                recorded.Clear(); // the statement rolled back; the coalescer tries again or fails every caller
                throw;
            }
        }
        foreach (var c in successes) c.Recorded.TrySetResult(recorded.Contains(c.Id));
    }

    /// <summary>Records success inside the handler's own transaction, so it commits with the handler's work.</summary>
    public async Task<bool> SucceedAsync(TasksDbContext db, ClaimedTask task, string? resultJson, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var rows = await db.Database.ExecuteSqlAsync(
            $"""
            UPDATE tasks SET state = 'succeeded', result = {resultJson}::jsonb, error = NULL, error_details = NULL,
                finished_at = {now}, updated_at = {now}, cancel_requested = false
            WHERE id = {task.Id} AND state = 'running' AND attempts = {task.Attempt}
            """, ct);
        return rows == 1;
    }

    /// <summary>
    /// Records a failed attempt: back to <c>scheduled</c> for a retry at <paramref name="retryAt"/>, or <c>failed</c>.
    /// </summary>
    public Task<bool> FailAsync(ClaimedTask task, string error, string? details, DateTimeOffset? retryAt, CancellationToken ct) =>
        retryAt is { } at
            ? FinishAttemptAsync(task, TaskState.Scheduled, error, details, at, ct)
            : FinishAttemptAsync(task, TaskState.Failed, error, details, null, ct);

    public Task<bool> CancelAsync(ClaimedTask task, string reason, CancellationToken ct) =>
        FinishAttemptAsync(task, TaskState.Canceled, reason, null, null, ct);

    private async Task<bool> FinishAttemptAsync(
        ClaimedTask task, TaskState to, string error, string? details, DateTimeOffset? scheduledFor, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // Retried on a pooled connection found dead (a restarted database): an outcome isn't given up on for that.
        return await Transient.RetryAsync(async () =>
        {
            await using var cmd = dataSource.CreateCommand(
                """
                UPDATE tasks SET updated_at = $7, error = $4, error_details = $5,
                    -- a cancel asked for while the attempt was failing wins over its retry
                    state = CASE WHEN cancel_requested AND $3 = 'scheduled' THEN 'canceled' ELSE $3 END,
                    scheduled_for = CASE WHEN cancel_requested THEN NULL ELSE $6 END,
                    finished_at = CASE WHEN $3 = 'scheduled' AND NOT cancel_requested THEN NULL ELSE $7 END,
                    cancel_requested = false
                WHERE id = $1 AND state = 'running' AND attempts = $2
                """);
            cmd.Parameters.Add(new() { Value = task.Id });
            cmd.Parameters.Add(new() { Value = task.Attempt });
            cmd.Parameters.Add(new() { Value = Names[to] });
            cmd.Parameters.Add(new() { Value = Truncate(error, 2000) });
            cmd.Parameters.Add(new() { Value = details is null ? DBNull.Value : Truncate(details, 100_000), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = scheduledFor is { } s ? s : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
            cmd.Parameters.Add(new() { Value = now });
            return await cmd.ExecuteNonQueryAsync(ct) == 1;
        });
    }

    public async Task ReportProgressAsync(ClaimedTask task, long? current, long? total, string? message, CancellationToken ct)
    {
        // Retried like an outcome: a progress report doesn't fail the task over a dead pooled connection.
        await Transient.RetryAsync(async () =>
        {
            await using var cmd = relaxed.CreateCommand(
                """
                UPDATE tasks SET progress_current = $3, progress_total = $4, progress_message = $5, updated_at = $6
                WHERE id = $1 AND state = 'running' AND attempts = $2
                """);
            cmd.Parameters.Add(new() { Value = task.Id });
            cmd.Parameters.Add(new() { Value = task.Attempt });
            cmd.Parameters.Add(new() { Value = current is { } c ? c : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            cmd.Parameters.Add(new() { Value = total is { } t ? t : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Bigint });
            cmd.Parameters.Add(new() { Value = message is null ? DBNull.Value : Truncate(message, 1000), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = clock.GetUtcNow() });
            await cmd.ExecuteNonQueryAsync(ct);
        });
    }

    /// <summary>
    /// Says this worker's running tasks are alive (renewing their lease). Returns the tasks it renewed, those of
    /// them someone asked to cancel, and those that are no longer this worker's (taken over, put back by the relay,
    /// finished, or gone): the lease of those is lost. A task in neither list was held by someone for a moment (an
    /// outcome or a progress report being written): not renewed this time, not lost either.
    /// </summary>
    public async Task<LeaseRenewal> HeartbeatAsync(IReadOnlyCollection<Guid> running, string worker, CancellationToken ct)
    {
        var renewed = new HashSet<Guid>();
        var canceled = new List<Guid>();
        var lost = new List<Guid>();
        if (running.Count == 0) return new(renewed, canceled, lost);
        await using (var cmd = new ByKeyStatement(relaxed, HeartbeatSql))
        {
            cmd.Parameters.Add(new() { Value = running.ToArray() });
            cmd.Parameters.Add(new() { Value = worker });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                renewed.Add(reader.GetGuid(0));
                if (reader.GetBoolean(1)) canceled.Add(reader.GetGuid(0));
            }
        }
        if (renewed.Count == running.Count) return new(renewed, canceled, lost);
        // Rare: read without a lock (the last committed version), so a row skipped only because it was held isn't taken for lost.
        await using var check = dataSource.CreateCommand(
            """
            SELECT r.id FROM unnest($1::uuid[]) AS r(id) LEFT JOIN tasks t ON t.id = r.id
            WHERE t.id IS NULL OR t.state <> 'running' OR t.worker IS DISTINCT FROM $2
            """);
        check.Parameters.Add(new() { Value = running.Where(id => !renewed.Contains(id)).ToArray() });
        check.Parameters.Add(new() { Value = worker });
        await using (var reader = await check.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) lost.Add(reader.GetGuid(0));
        return new(renewed, canceled, lost);
    }

    /// <summary>
    /// Gives up the lease of an attempt that was put back (its message goes back to the queue) without an outcome,
    /// so the message's redelivery may take the task over at once instead of after <c>Tasks:LeaseSeconds</c>.
    /// </summary>
    public async Task ReleaseLeaseAsync(ClaimedTask task, CancellationToken ct)
    {
        await using var cmd = relaxed.CreateCommand(
            "UPDATE tasks SET heartbeat_at = NULL WHERE id = $1 AND state = 'running' AND attempts = $2 AND worker = $3");
        cmd.Parameters.Add(new() { Value = task.Id });
        cmd.Parameters.Add(new() { Value = task.Attempt });
        cmd.Parameters.Add(new() { Value = task.Worker });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Cancels a task: one that hasn't started never will; a running one gets its token fired by its worker.
    /// Returns whether the request was taken and the task's state after it (null: no such task).
    /// </summary>
    public async Task<(bool Accepted, TaskState? State)> RequestCancelAsync(Guid id, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var cmd = dataSource.CreateCommand(
            """
            UPDATE tasks SET updated_at = $2,
                cancel_requested = (state = 'running'),
                state = CASE WHEN state = 'running' THEN state ELSE 'canceled' END,
                finished_at = CASE WHEN state = 'running' THEN finished_at ELSE $2 END,
                error = CASE WHEN state = 'running' THEN error ELSE 'Canceled before it ran.' END
            WHERE id = $1 AND state IN ('pending', 'scheduled', 'queued', 'running')
            RETURNING state
            """);
        cmd.Parameters.Add(new() { Value = id });
        cmd.Parameters.Add(new() { Value = now });
        return await cmd.ExecuteScalarAsync(ct) is string moved
            ? (true, ByName[moved])
            : (false, await GetStateAsync(id, ct));
    }

    /// <summary>
    /// Sends a <c>failed</c>, <c>canceled</c> or <c>expired</c> task round again with a fresh allowance of attempts.
    /// Returns false when the task is not in one of those states.
    /// </summary>
    public async Task<bool> RetryByHandAsync(Guid id, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
            """
            UPDATE tasks SET state = 'pending', attempts_base = attempts, cancel_requested = false, expires_at = NULL,
                finished_at = NULL, scheduled_for = NULL, result = NULL, updated_at = now(),
                publish_attempts = NULL, publish_after = NULL
            WHERE id = $1 AND state IN ('failed', 'canceled', 'expired')
            """);
        cmd.Parameters.Add(new() { Value = id });
        return await cmd.ExecuteNonQueryAsync(ct) == 1;
    }

    public async Task<TaskState?> GetStateAsync(Guid id, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT state FROM tasks WHERE id = $1");
        cmd.Parameters.Add(new() { Value = id });
        return await cmd.ExecuteScalarAsync(ct) is string s ? ByName[s] : null;
    }

    /// <summary>
    /// The outbox relay, for the scheduler. First, due <c>scheduled</c> tasks, and <c>running</c> tasks whose worker's
    /// lease ran out, become <c>pending</c> (committed at once, back-dated so they count as orphaned). Then <c>pending</c> tasks that nobody published within
    /// the pending grace (their publisher died, or the broker was down), and, when <see cref="ReleaseSettings.QueuedGrace"/>
    /// is given, <c>queued</c> tasks still not started that long after their publish (their message may be gone), are
    /// locked with SKIP LOCKED, handed to <paramref name="publish"/>, and marked <c>queued</c> in the same transaction, so two schedulers
    /// never publish the same task. A worker may receive a message before that commit: its claim accepts
    /// <c>pending</c> and simply waits for the row lock. A crash after publishing and before the commit only means
    /// the task is published again, and the worker drops the duplicate. A task the broker refuses stays <c>pending</c>
    /// and is tried again after a back-off, apart from the others; after <see cref="ReleaseSettings.MaxPublishAttempts"/>
    /// refusals in a row it is <c>failed</c> with the broker's reason. Every time compared here is the database's
    /// (<c>now()</c>), never this host's: a host with a skewed clock can't release early or take a live task over.
    /// </summary>
    public async Task<ReleaseResult> ReleaseAsync(
        ReleaseSettings settings, Func<IReadOnlyList<TaskToPublish>, CancellationToken, Task<IReadOnlyList<PublishRefusal>>> publish,
        CancellationToken ct)
    {
        await using (var due = dataSource.CreateCommand(
            """
            UPDATE tasks SET state = 'pending', updated_at = now() - $1::interval
            WHERE id IN (SELECT id FROM tasks WHERE state = 'scheduled' AND scheduled_for <= now()
                         ORDER BY scheduled_for LIMIT $2 FOR UPDATE SKIP LOCKED)
            """))
        {
            due.Parameters.Add(new() { Value = settings.PendingGrace });
            due.Parameters.Add(new() { Value = settings.BatchSize });
            await due.ExecuteNonQueryAsync(ct);
        }

        // Running tasks whose worker stopped renewing the lease lost it (killed, or cut off for good): back to
        // pending for another attempt, or failed when crashes used up the allowance.
        await using (var lost = dataSource.CreateCommand(
            """
            UPDATE tasks SET updated_at = now() - $2::interval, heartbeat_at = NULL,
                state = CASE WHEN attempts - attempts_base < max_attempts + $4 THEN 'pending' ELSE 'failed' END,
                finished_at = CASE WHEN attempts - attempts_base < max_attempts + $4 THEN NULL ELSE now() END,
                error = CASE WHEN attempts - attempts_base < max_attempts + $4 THEN error
                             ELSE 'Its worker was lost during each of its last attempts; given up (poison message?).' END
            WHERE id IN (SELECT id FROM tasks WHERE state = 'running' AND (heartbeat_at < now() - $1::interval OR heartbeat_at IS NULL)
                         ORDER BY heartbeat_at LIMIT $3 FOR UPDATE SKIP LOCKED)
            """))
        {
            lost.Parameters.Add(new() { Value = _lease });
            lost.Parameters.Add(new() { Value = settings.PendingGrace });
            lost.Parameters.Add(new() { Value = settings.BatchSize });
            lost.Parameters.Add(new() { Value = CrashAllowance });
            await lost.ExecuteNonQueryAsync(ct);
        }

        await using var conn = await dataSource.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        var orphans = new List<TaskToPublish>();
        // A row in its publish back-off waits for its time (publish_after), however old it is.
        await ReadAsync(
            """
            SELECT id, name, queue, trace_parent FROM tasks
            WHERE state = 'pending' AND updated_at <= now() - $1::interval AND (publish_after IS NULL OR publish_after <= now())
            ORDER BY updated_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
            """, settings.PendingGrace, settings.BatchSize);
        if (settings.QueuedGrace is { } queuedGrace && orphans.Count < settings.BatchSize)
        {
            await ReadAsync(
                """
                SELECT id, name, queue, trace_parent FROM tasks
                WHERE state = 'queued' AND updated_at <= now() - $1::interval AND (publish_after IS NULL OR publish_after <= now())
                ORDER BY updated_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
                """, queuedGrace, settings.BatchSize - orphans.Count);
        }
        if (orphans.Count == 0) return ReleaseResult.None;

        var refusals = await publish(orphans, ct);
        var refusedIds = refusals.Select(r => r.Task.Id).ToHashSet();

        await using (var update = new NpgsqlCommand(
            """
            UPDATE tasks SET state = 'queued', updated_at = clock_timestamp(), publish_attempts = NULL, publish_after = NULL
            WHERE id = ANY($1)
            """, conn, tx))
        {
            update.Parameters.Add(new() { Value = orphans.Where(t => !refusedIds.Contains(t.Id)).Select(t => t.Id).ToArray() });
            await update.ExecuteNonQueryAsync(ct);
        }
        var charged = refusals.Where(r => r.Charged).ToList();
        var refused = charged.Count == 0 ? [] : await RecordRefusalsAsync(conn, tx, charged, settings, ct);
        var deferred = refusals.Where(r => !r.Charged).ToList();
        if (deferred.Count > 0)
        {
            // Nacked (a full queue): tried again after one back-off, uncharged, so a full queue neither fails its
            // tasks nor keeps the head of every round (the rows are the oldest) from the other queues' tasks.
            await using var defer = new NpgsqlCommand(
                "UPDATE tasks SET publish_after = clock_timestamp() + $2::interval WHERE id = ANY($1)", conn, tx);
            defer.Parameters.Add(new() { Value = deferred.Select(r => r.Task.Id).Distinct().ToArray() });
            defer.Parameters.Add(new() { Value = settings.PublishBackoff });
            await defer.ExecuteNonQueryAsync(ct);
        }
        await tx.CommitAsync(ct);
        return new ReleaseResult(orphans.Count - refusedIds.Count, refused, deferred);

        async Task ReadAsync(string sql, TimeSpan grace, int limit)
        {
            await using var select = new NpgsqlCommand(sql, conn, tx);
            select.Parameters.Add(new() { Value = grace });
            select.Parameters.Add(new() { Value = limit });
            await using var reader = await select.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                orphans.Add(new TaskToPublish(reader.GetGuid(0), reader.GetString(1), reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3)));
        }
    }

    /// <summary>
    /// Tasks the broker refused go back to <c>pending</c>, each to be tried again after its own back-off (doubling
    /// from <see cref="ReleaseSettings.PublishBackoff"/>), or <c>failed</c> with the broker's reason after
    /// <see cref="ReleaseSettings.MaxPublishAttempts"/> refusals in a row.
    /// </summary>
    private static async Task<List<RefusedPublish>> RecordRefusalsAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<PublishRefusal> refusals, ReleaseSettings settings, CancellationToken ct)
    {
        var byId = refusals.ToDictionary(r => r.Task.Id);
        await using var cmd = new NpgsqlCommand(
            """
            UPDATE tasks t SET publish_attempts = coalesce(t.publish_attempts, 0) + 1, error = r.reason,
                updated_at = clock_timestamp(),
                state = CASE WHEN coalesce(t.publish_attempts, 0) + 1 >= $3 THEN 'failed' ELSE 'pending' END,
                finished_at = CASE WHEN coalesce(t.publish_attempts, 0) + 1 >= $3 THEN clock_timestamp() END,
                publish_after = CASE WHEN coalesce(t.publish_attempts, 0) + 1 < $3
                                     THEN clock_timestamp() + $4::interval * power(2, least(coalesce(t.publish_attempts, 0), 16)) END
            FROM unnest($1::uuid[], $2::text[]) AS r(id, reason)
            WHERE t.id = r.id
            RETURNING t.id, t.publish_attempts, t.state = 'failed', t.publish_after - clock_timestamp()
            """, conn, tx);
        cmd.Parameters.Add(new() { Value = byId.Keys.ToArray() });
        cmd.Parameters.Add(new() { Value = byId.Values.Select(r => Truncate(r.Reason, 2000)).ToArray() });
        cmd.Parameters.Add(new() { Value = settings.MaxPublishAttempts });
        cmd.Parameters.Add(new() { Value = settings.PublishBackoff });
        var refused = new List<RefusedPublish>(byId.Count);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var refusal = byId[reader.GetGuid(0)];
            refused.Add(new RefusedPublish(refusal.Task, refusal.Reason, reader.GetInt32(1), reader.GetBoolean(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<TimeSpan>(3)));
        }
        return refused;
    }

    /// <summary>
    /// Folds the per-connection rows of <c>task_state_counts</c> (see the StateCounts migration) into slot 0, so
    /// the table stays a few dozen rows however many connections come and go. Rows a writer holds right now are
    /// skipped, never waited for; one fold runs at a time.
    /// </summary>
    public async Task FoldStateCountsAsync(CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(
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
            """);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Text PostgreSQL will store: no NUL characters, at most <paramref name="max"/> chars, no half surrogate pair.</summary>
    private static string Truncate(string s, int max)
    {
        if (s.Contains('\0', StringComparison.Ordinal)) s = s.Replace("\0", "", StringComparison.Ordinal);
        if (s.Length <= max) return s;
        return char.IsHighSurrogate(s[max - 1]) ? s[..(max - 1)] : s[..max];
    }
}
