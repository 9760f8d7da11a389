using Npgsql;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Takes a task for one attempt: from <c>pending</c>/<c>queued</c>, or from <c>running</c> when it is taken over
/// (<see cref="TakeOver"/>). A single conditional UPDATE, so two workers never both take it. Concurrent claims (one
/// per message in flight) go to the database as one statement: one round trip and one commit for all of them.
/// </summary>
public sealed class Claim(NpgsqlDataSource dataSource, TimeProvider clock, TimeSpan lease, TransientRetry retry, Skip skip) : IAsyncDisposable
{
    // Rows are locked in id order first, so two claiming statements that share rows can't deadlock; whether a row
    // may be claimed is decided on the row as locked (its latest version).
    [Makes(nameof(TaskLifecycle.Claim), nameof(TaskLifecycle.TakeOver))]
    internal static readonly string Sql = Statement(lockRows: "FOR UPDATE OF u");

    // A batch skips rows someone holds (a queued mark, the relay publishing) rather than make every claim wait.
    [Makes(nameof(TaskLifecycle.Claim), nameof(TaskLifecycle.TakeOver))]
    internal static readonly string SkippingHeldSql = Statement(lockRows: "FOR UPDATE OF u SKIP LOCKED");

    private static string Statement(string lockRows) =>
        $"""
        WITH l AS MATERIALIZED (
            SELECT u.id, c.worker, c.message_id,
                   NOT u.cancel_requested AND (u.expires_at IS NULL OR u.expires_at > now())
                   AND (u.state IN ('pending', 'queued')
                        OR (u.state = 'running' AND u.message_id = c.message_id AND (u.heartbeat_at < now() - $6::interval OR u.heartbeat_at IS NULL)
                            AND u.attempts - u.attempts_base < u.max_attempts + $5)) AS claimable,
                   u.state = 'running' AS taken_over, u.attempts AS lost_attempt, u.worker AS lost_by, u.started_at AS lost_since
            FROM unnest($1::uuid[], $2::text[], $3::uuid[]) AS c(id, worker, message_id) JOIN tasks u ON u.id = c.id
            ORDER BY u.id {lockRows}),
        -- A take-over ends the lost attempt: recorded here, as the relay's release would (Lost); no row otherwise.
        lost AS (
            INSERT INTO task_attempts (task_id, attempt, worker, started_at, ended_at, outcome, error)
            SELECT id, lost_attempt, lost_by, lost_since, now(), 'lost', '{Lost.Error}' FROM l WHERE claimable AND taken_over
            ON CONFLICT DO NOTHING)
        UPDATE tasks t SET state = 'running', attempts = t.attempts + 1, started_at = $4, finished_at = NULL,
            worker = l.worker, message_id = l.message_id, updated_at = $4, heartbeat_at = now(),
            progress_current = NULL, progress_total = NULL, progress_message = NULL
        FROM l WHERE t.id = l.id AND l.claimable
        RETURNING t.id, t.name, t.queue, t.args, t.attempts, t.max_attempts, t.attempts_base, t.time_limit_seconds,
                  t.backoff_seconds, coalesce(t.scheduled_for, t.enqueued_at), t.worker
        """;

    private WriteCoalescer<Request>? _claims;
    private object? _sync;

    /// <summary>
    /// Returns no task when the message must be dropped: the task is finished, taken, canceled, expired, or unknown;
    /// a skip it implies is recorded (<see cref="Skip"/>) and returned. The caller makes sure this process isn't
    /// running the task right now. Not cancelable once asked: the claim may commit either way.
    /// </summary>
    public async Task<(ClaimedTask? Task, SkippedTask? Skipped)> ClaimAsync(Guid id, string worker, Guid messageId, CancellationToken ct)
    {
        var claims = LazyInitializer.EnsureInitialized(ref _claims, ref _sync,
            () => new WriteCoalescer<Request>(WriteBatchAsync, maxItems: 1000, retry: retry));
        // Not taken by a batch: not claimable, or a row held by someone: the claim goes with the next batch, and
        // after that waits its turn alone.
        ClaimedTask? task = null;
        for (var round = 0; task is null && round < 2; round++)
        {
            var request = new Request(id, worker, messageId);
            await claims.WriteAsync([request]);
            task = await request.Result.Task;
        }
        if (task is null)
        {
            var alone = new Request(id, worker, messageId);
            await WriteAsync([alone], Sql, ct);
            task = await alone.Result.Task;
        }
        return task is not null ? (task, null) : (null, await skip.SkipAsync(id, messageId, ct));
    }

    private sealed record Request(Guid Id, string Worker, Guid MessageId)
    {
        public TaskCompletionSource<ClaimedTask?> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private Task WriteBatchAsync(List<Request> claims, CancellationToken ct) => WriteAsync(claims, SkippingHeldSql, ct);

    private async Task WriteAsync(List<Request> claims, string sql, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        claims.Sort((a, b) => a.Id.CompareTo(b.Id));
        var taken = new Dictionary<Guid, ClaimedTask>();
        await using (var cmd = new ByKeyStatement(dataSource, sql))
        {
            cmd.Parameters.Add(new() { Value = claims.ConvertAll(c => c.Id).ToArray() });
            cmd.Parameters.Add(new() { Value = claims.ConvertAll(c => c.Worker).ToArray() });
            cmd.Parameters.Add(new() { Value = claims.ConvertAll(c => c.MessageId).ToArray() });
            cmd.Parameters.Add(new() { Value = now });
            cmd.Parameters.Add(new() { Value = TakeOver.CrashAllowance });
            cmd.Parameters.Add(new() { Value = lease });
            try
            {
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var task = Read(reader, now);
                    taken[task.Id] = task;
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

    private static ClaimedTask Read(NpgsqlDataReader reader, DateTimeOffset now) =>
        new(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
            Attempt: reader.GetInt32(4), MaxAttempts: reader.GetInt32(5), AttemptsBase: reader.GetInt32(6),
            TimeLimitSeconds: reader.GetInt32(7), BackoffSeconds: reader.GetDouble(8),
            DueAt: reader.GetFieldValue<DateTimeOffset>(9), StartedAt: now, Worker: reader.GetString(10));

    public ValueTask DisposeAsync() => _claims?.DisposeAsync() ?? ValueTask.CompletedTask;
}
