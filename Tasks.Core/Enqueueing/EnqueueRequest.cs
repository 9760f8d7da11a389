using System.Text.Json;

namespace Tasks.Core.Enqueueing;

/// <summary>What a caller (the HTTP API, the scheduler, the CLI) asks to enqueue. Nulls take the contract's defaults.</summary>
public sealed record EnqueueRequest(string Name, JsonElement? Args)
{
    /// <summary>The task id to use; a caller that can repeat itself (a schedule fire) derives it, so a repeat is a no-op.</summary>
    public Guid? Id { get; init; }
    public string? Queue { get; init; }
    public DateTimeOffset? RunAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public int? MaxAttempts { get; init; }
    public int? TimeLimitSeconds { get; init; }
    public double? BackoffSeconds { get; init; }
    public string? IdempotencyKey { get; init; }
    public string? ScheduleName { get; init; }
    /// <summary>A schedule's fire: the time it was scheduled for.</summary>
    public DateTimeOffset? ScheduledFireTime { get; init; }

    /// <summary>The API key asking: an idempotency key names an earlier task only among this key's tasks.</summary>
    public Guid? ApiKeyId { get; init; }
}
