using System.Globalization;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle.Moves;
using Tasks.Core.Registry;

namespace Tasks.Core.Enqueueing;

/// <summary>Turns requests into started task records, or names every invalid field (RFC 9457 style keys).</summary>
public sealed class EnqueueValidator(TaskRegistry registry, TimeProvider clock)
{
    public const int MaxAttemptsLimit = 100;
    public const int MaxTimeLimitSeconds = 7 * 24 * 3600;

    /// <summary><paramref name="errorPrefix"/> is a format string given the request's index, e.g. <c>tasks[{0}].</c>.</summary>
    public (List<TaskRecord> Records, Dictionary<string, string[]> Errors) Prepare(IReadOnlyList<EnqueueRequest> requests, string errorPrefix)
    {
        var now = clock.GetUtcNow();
        var records = new List<TaskRecord>(requests.Count);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var i = 0; i < requests.Count; i++)
        {
            var prefix = string.Format(CultureInfo.InvariantCulture, errorPrefix, i);
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
        CheckOptions(request, now, error);
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
            ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
            IdempotencyKey = request.IdempotencyKey,
            ApiKeyId = request.ApiKeyId,
            ScheduleName = request.ScheduleName,
            ScheduledFireTime = request.ScheduledFireTime?.ToUniversalTime(),
            TraceParent = System.Diagnostics.Activity.Current?.Id,
        };
        Enqueue.Start(task, now, request.RunAt?.ToUniversalTime());
        return task;
    }

    // Any offset is the same instant; PostgreSQL's timestamptz (through Npgsql) takes UTC only.
    private static void CheckOptions(EnqueueRequest request, DateTimeOffset now, Action<string, string> error)
    {
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
    }
}
