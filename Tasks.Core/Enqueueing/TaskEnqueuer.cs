using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tasks.Core.Hosting;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;
using Tasks.Core.Registry;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// The one way tasks enter the system (HTTP API, scheduler, CLI, handlers). Each task row is written in one
/// transaction and is its own outbox entry: it is published only after the commit, and a publish that doesn't
/// happen (broker down, process killed) is made up by the scheduler's sweeper. Nothing is published for a
/// transaction that rolled back.
/// </summary>
public sealed partial class TaskEnqueuer(
    TasksDbContext db, TaskRegistry registry, TaskStateMachine lifecycle, TaskPublisher publisher, TaskInserter inserter,
    TimeProvider clock, IOptions<TasksOptions> options, TasksTelemetry telemetry, ILogger<TaskEnqueuer> logger)
{
    public const int MaxAttemptsLimit = 100;
    public const int MaxTimeLimitSeconds = 7 * 24 * 3600;

    /// <summary>Validates, stores and publishes the tasks: all of them, or none when any is invalid.</summary>
    public async Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EnqueueRequest> requests, string errorPrefix, CancellationToken ct)
    {
        var (records, errors) = Prepare(requests, errorPrefix);
        if (errors.Count > 0) return new EnqueueResult([], errors);

        var requestedIds = requests.Where(r => r.Id is not null).Select(r => r.Id!.Value).ToHashSet();
        var (stored, fresh, conflicts) = await StoreAsync(records, requestedIds, errorPrefix, ct);
        if (conflicts.Count > 0) return new EnqueueResult([], errors) { Conflicts = conflicts };
        await PublishAsync(fresh.Where(t => t.State == TaskState.Pending).ToList());
        return new EnqueueResult(stored, errors);
    }

    /// <summary>
    /// Publishes tasks whose rows are committed; they are <c>queued</c> once the broker confirmed them, and their
    /// rows say so a moment later (<see cref="TaskStateMachine.MarkQueuedAsync"/>, not waited for). A broker
    /// failure is logged, not thrown: the tasks stay <c>pending</c> and the sweeper publishes them.
    /// </summary>
    public async Task PublishAsync(IReadOnlyList<TaskRecord> committed)
    {
        if (committed.Count == 0) return;
        var toPublish = committed.Select(t => new TaskToPublish(t.Id, t.Name, t.Queue)).ToList(); // in the enqueuer's own trace
        // Not the caller's token: a client that hangs up after the commit doesn't make its tasks wait for the relay.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Value.PublishTimeoutSeconds), clock);
        try
        {
            await publisher.PublishAsync(toPublish, timeout.Token);
        }
        catch (Exception e)
        {
            // Committed means accepted: whatever stops the publish (broker down, timeout, the caller gone),
            // the rows stay pending and the sweeper finishes the job.
            LogPublishDeferred(logger, e, committed.Count);
            return;
        }
        _ = lifecycle.MarkQueuedAsync(committed).ContinueWith(
            t => LogMarkFailed(logger, t.Exception!, committed.Count), CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        foreach (var t in committed)
            if (t.State == TaskState.Pending) t.State = TaskState.Queued;
    }

    private async Task<(List<TaskRecord> All, List<TaskRecord> Fresh, Dictionary<string, string[]> Conflicts)> StoreAsync(
        List<TaskRecord> records, HashSet<Guid> requestedIds, string errorPrefix, CancellationToken ct)
    {
        // Only a caller-given id or an idempotency key can name an existing task; a fresh UUIDv7 can't, so the
        // common enqueue skips the look-up (one round trip fewer). A race on either still ends in the retry below.
        var canRepeat = records.Exists(r => r.IdempotencyKey is not null) || requestedIds.Count > 0;
        if (!canRepeat && db.Database.CurrentTransaction is null && System.Transactions.Transaction.Current is null
            && !db.ChangeTracker.HasChanges())
        {
            // Nothing to look up, no caller's transaction or unsaved changes to go with: stored with other
            // callers' tasks in one statement.
            using (var activity = TasksTelemetry.Source.StartActivity("task.store"))
            {
                activity?.SetTag("task.count", records.Count);
                await inserter.InsertAsync(records).WaitAsync(ct);
            }
            foreach (var t in records) telemetry.Enqueued(t.Name, t.Queue);
            return (records, records, new Dictionary<string, string[]>());
        }
        for (var round = 0; ; round++)
        {
            var ids = records.Select(r => r.Id).ToList();
            var keys = records.Where(r => r.IdempotencyKey is not null).Select(r => r.IdempotencyKey!).Distinct().ToList();
            var found = canRepeat || round > 0
                ? await db.Tasks.AsNoTracking()
                    .Where(t => ids.Contains(t.Id) || (t.IdempotencyKey != null && keys.Contains(t.IdempotencyKey)))
                    .ToListAsync(ct)
                : [];
            var byId = found.ToDictionary(t => t.Id);
            // An idempotency key belongs to the API key that used it: another caller's same key is another task.
            var byKey = found.Where(t => t.IdempotencyKey is not null).ToDictionary(t => (t.ApiKeyId, t.IdempotencyKey!));

            // Every repeat is checked before anything is tracked: a conflict stores nothing and leaves the
            // caller's own unsaved changes alone.
            var earlier = new TaskRecord?[records.Count];
            var conflicts = new Dictionary<string, string[]>(StringComparer.Ordinal);
            for (var i = 0; i < records.Count; i++)
            {
                var r = records[i];
                var e = byId.GetValueOrDefault(r.Id);
                if (e is null && r.IdempotencyKey is { } key)
                {
                    if (!byKey.TryGetValue((r.ApiKeyId, key), out e)) byKey[(r.ApiKeyId, key)] = r;
                    else if (!SameTask(e, r))
                        conflicts[string.Format(System.Globalization.CultureInfo.InvariantCulture, errorPrefix, i) + "idempotencyKey"] =
                            [$"idempotencyKey '{key}' was already used for task {e.Id} ({e.Name}) with other args; a repeat must ask for the same task and args."];
                }
                if (e is null) byId[r.Id] = r;
                earlier[i] = e;
            }
            if (conflicts.Count > 0) return ([], [], conflicts);

            var result = new List<TaskRecord>(records.Count);
            var fresh = new List<TaskRecord>();
            for (var i = 0; i < records.Count; i++)
            {
                if (earlier[i] is null)
                {
                    db.Tasks.Add(records[i]);
                    fresh.Add(records[i]);
                }
                result.Add(earlier[i] ?? records[i]);
            }
            try
            {
                await db.SaveChangesAsync(ct);
                foreach (var t in fresh) telemetry.Enqueued(t.Name, t.Queue);
                return (result, fresh, conflicts);
            }
            catch (DbUpdateException e) when (round == 0 && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                // Someone stored the same idempotency key or id between our look-up and our insert: theirs wins.
                db.ChangeTracker.Clear();
            }
        }
    }

    // The same task asked for again: same name and the same args (as JSON values; jsonb gives them back reformatted).
    private static bool SameTask(TaskRecord earlier, TaskRecord repeat)
    {
        if (!string.Equals(earlier.Name, repeat.Name, StringComparison.Ordinal)) return false;
        using var a = JsonDocument.Parse(earlier.Args);
        using var b = JsonDocument.Parse(repeat.Args);
        return JsonElement.DeepEquals(a.RootElement, b.RootElement);
    }

    private (List<TaskRecord>, Dictionary<string, string[]>) Prepare(IReadOnlyList<EnqueueRequest> requests, string errorPrefix)
    {
        var now = clock.GetUtcNow();
        var records = new List<TaskRecord>(requests.Count);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var i = 0; i < requests.Count; i++)
        {
            var prefix = string.Format(System.Globalization.CultureInfo.InvariantCulture, errorPrefix, i);
            var record = Prepare(requests[i], now, (field, message) =>
            {
                var key = prefix + field;
                errors[key] = [.. errors.GetValueOrDefault(key, []), message];
            });
            if (record is not null) records.Add(record);
        }
        return (records, errors);
    }

    private TaskRecord? Prepare(EnqueueRequest request, DateTimeOffset now, Action<string, string> error)
    {
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            error("name", "name is required.");
            return null;
        }
        if (!registry.TryGet(request.Name, out var definition))
        {
            error("name", $"Unknown task '{request.Name}'. Known tasks: {string.Join(", ", registry.Names)}.");
            return null;
        }
        var args = TaskRegistry.Check(definition, request.Args);
        foreach (var (field, messages) in args.Errors)
            foreach (var m in messages) error(field, m);

        var queue = request.Queue ?? definition.Queue;
        if (registry.QueueProblem(queue) is { } queueProblem)
            error("queue", queueProblem);
        // Any offset is the same instant; PostgreSQL's timestamptz (through Npgsql) takes UTC only.
        var runAt = request.RunAt?.ToUniversalTime();
        var expiresAt = request.ExpiresAt?.ToUniversalTime();
        if (expiresAt is { } expires && expires <= now)
            error("expiresAt", "expiresAt is in the past.");
        if (expiresAt is { } e2 && runAt is { } r2 && e2 <= r2)
            error("expiresAt", "expiresAt is before the task would run.");
        if (request.MaxAttempts is < 1 or > MaxAttemptsLimit)
            error("maxAttempts", $"maxAttempts must be between 1 and {MaxAttemptsLimit}.");
        if (request.TimeLimitSeconds is < 0 or > MaxTimeLimitSeconds)
            error("timeLimitSeconds", $"timeLimitSeconds must be between 0 (no limit) and {MaxTimeLimitSeconds}.");
        if (request.BackoffSeconds is { } b && (double.IsNaN(b) || b < 0 || b > 86400))
            error("backoffSeconds", "backoffSeconds must be between 0 and 86400.");
        if (request.IdempotencyKey is { Length: 0 or > 200 } || request.IdempotencyKey?.Contains('\0', StringComparison.Ordinal) == true)
            error("idempotencyKey", "idempotencyKey must be 1-200 characters, without NUL.");
        if (!args.IsValid) return null;

        var task = new TaskRecord
        {
            Id = request.Id ?? Guid.CreateVersion7(now),
            Name = definition.Name,
            Queue = queue,
            Args = args.Json!,
            MaxAttempts = request.MaxAttempts ?? definition.MaxAttempts,
            TimeLimitSeconds = request.TimeLimitSeconds ?? definition.TimeLimitSeconds,
            BackoffSeconds = request.BackoffSeconds ?? definition.BackoffSeconds,
            ExpiresAt = expiresAt,
            IdempotencyKey = request.IdempotencyKey,
            ApiKeyId = request.ApiKeyId,
            ScheduleName = request.ScheduleName,
            ScheduledFireTime = request.ScheduledFireTime?.ToUniversalTime(),
            TraceParent = System.Diagnostics.Activity.Current?.Id,
        };
        TaskStateMachine.Start(task, now, runAt);
        return task;
    }

    [LoggerMessage(LogLevel.Warning, "Publishing {Count} committed task(s) failed; they stay pending and the sweeper will publish them")]
    private static partial void LogPublishDeferred(ILogger logger, Exception e, int count);

    [LoggerMessage(LogLevel.Warning, "Recording {Count} published task(s) as queued failed; they stay pending, and the sweeper publishes them again (their workers drop the duplicates)")]
    private static partial void LogMarkFailed(ILogger logger, Exception e, int count);
}
