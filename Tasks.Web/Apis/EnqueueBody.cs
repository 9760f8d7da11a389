using System.Text.Json;
using Tasks.Core.Enqueueing;

namespace Tasks.Web.Apis;

/// <summary>The body of <c>POST /api/v1/tasks</c> (and each entry of a batch).</summary>
public sealed record EnqueueBody(
    string? Name, JsonElement? Args, string? Queue, double? DelaySeconds, DateTimeOffset? RunAt, DateTimeOffset? ExpiresAt,
    int? MaxAttempts, int? TimeLimitSeconds, double? BackoffSeconds, string? IdempotencyKey)
{
    public const double MaxDelaySeconds = 365 * 86400;

    public EnqueueRequest ToRequest(DateTimeOffset now, Action<string, string> error)
    {
        if (DelaySeconds is { } d && (double.IsNaN(d) || d < 0 || d > MaxDelaySeconds))
            error("delaySeconds", $"delaySeconds must be between 0 and {MaxDelaySeconds}.");
        if (DelaySeconds is not null && RunAt is not null)
            error("runAt", "Give delaySeconds or runAt, not both.");
        return new EnqueueRequest(Name ?? "", Args)
        {
            Queue = Queue,
            RunAt = RunAt ?? (DelaySeconds is { } delay and >= 0 and <= MaxDelaySeconds ? now.AddSeconds(delay) : null),
            ExpiresAt = ExpiresAt,
            MaxAttempts = MaxAttempts,
            TimeLimitSeconds = TimeLimitSeconds,
            BackoffSeconds = BackoffSeconds,
            IdempotencyKey = IdempotencyKey,
        };
    }
}

public sealed record BatchBody(IReadOnlyList<EnqueueBody>? Tasks);
