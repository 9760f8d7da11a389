using Tasks.Core.Lifecycle;

namespace Tasks.Core.Queries;

/// <summary>A task as lists show it: no args, result or stack trace, so a page stays small and its query cheap.</summary>
public sealed record TaskSummary(
    Guid Id, string Name, string Queue, TaskState State, int Attempts, int MaxAttempts, int AttemptsBase,
    long? ProgressCurrent, long? ProgressTotal, string? ProgressMessage, string? Error,
    DateTimeOffset EnqueuedAt, DateTimeOffset? ScheduledFor, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    string? Worker, string? ScheduleName);
