using System.Text.Json;
using Tasks.Core.Enqueueing;

namespace Tasks.Web.Apis;

/// <summary>The body of <c>POST /api/v1/tasks</c> (and each entry of a batch).</summary>
public sealed record EnqueueBody(
    string? Name, JsonElement? Args, string? Queue, double? DelaySeconds, DateTimeOffset? RunAt, DateTimeOffset? ExpiresAt,
    int? MaxAttempts, int? TimeLimitSeconds, double? BackoffSeconds, string? IdempotencyKey)
{
    public EnqueueRequest ToRequest(DateTimeOffset now, ApiOptions options, Action<string, string> error)
    {
        var maxDelaySeconds = options.MaxDelayDays * 86400.0;
        var delayOk = DelaySeconds is not { } d || (!double.IsNaN(d) && d >= 0 && d <= maxDelaySeconds);
        if (!delayOk)
            error("delaySeconds", $"delaySeconds must be between 0 and {maxDelaySeconds} ({options.MaxDelayDays} days, setting Api:MaxDelayDays).");
        if (DelaySeconds is not null && RunAt is not null)
            error("runAt", "Give delaySeconds or runAt, not both.");
        else if (RunAt is { } runAt && runAt > now.AddDays(options.MaxDelayDays))
            error("runAt", $"runAt must be at most {options.MaxDelayDays} days ahead (setting Api:MaxDelayDays).");
        return new EnqueueRequest(Name ?? "", Args)
        {
            Queue = Queue,
            RunAt = RunAt ?? (DelaySeconds is { } delay && delayOk ? now.AddSeconds(delay) : null),
            ExpiresAt = ExpiresAt,
            MaxAttempts = MaxAttempts,
            TimeLimitSeconds = TimeLimitSeconds,
            BackoffSeconds = BackoffSeconds,
            IdempotencyKey = IdempotencyKey,
        };
    }
}

public sealed record BatchBody(IReadOnlyList<EnqueueBody>? Tasks);
