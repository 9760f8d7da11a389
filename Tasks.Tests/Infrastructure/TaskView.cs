using System.Text.Json;

namespace Tasks.Tests.Infrastructure;

/// <summary>A task as a client of the HTTP API reads it (the test's own copy of the contract, not the server's type).</summary>
public sealed record TaskView(
    Guid Id, string Name, string Queue, string State, JsonElement Args, JsonElement? Result, string? Error, string? ErrorDetails,
    int Attempts, int MaxAttempts, ProgressView Progress, DateTimeOffset EnqueuedAt, DateTimeOffset? ScheduledFor,
    DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, DateTimeOffset? ExpiresAt, bool CancelRequested,
    string? Worker, string? ScheduleName, string? IdempotencyKey);

public sealed record ProgressView(long? Current, long? Total, string? Message);

public sealed record PageView(List<TaskView> Items, string? NextCursor);
