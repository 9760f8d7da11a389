using Tasks.Core.Lifecycle;

namespace Tasks.Core.Entities;

/// <summary>
/// One task: its arguments, where it is in its life, and its outcome. The row is written in the enqueuer's
/// transaction and doubles as the outbox: a <see cref="TaskState.Pending"/> row is a message not yet published.
/// Its state changes only through the moves of <see cref="TaskLifecycle"/>.
/// </summary>
public sealed class TaskRecord
{
    /// <summary>A version 7 UUID: ordered by creation time, so it is also the keyset for newest-first paging.</summary>
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Queue { get; set; }
    public TaskState State { get; internal set; }

    /// <summary>The arguments as JSON, normalised through the task's contract.</summary>
    public required string Args { get; set; }
    public string? Result { get; internal set; }
    public string? Error { get; internal set; }
    public string? ErrorDetails { get; internal set; }

    /// <summary>Attempts started so far, over the task's whole life (a redelivery after a crash counts).</summary>
    public int Attempts { get; internal set; }
    /// <summary>How many attempts this run of the task may take; a manual retry adds a fresh allowance.</summary>
    public int MaxAttempts { get; set; }
    /// <summary>Attempts taken before the current run began (0, or the count at the last manual retry).</summary>
    public int AttemptsBase { get; internal set; }
    public int TimeLimitSeconds { get; set; }
    public double BackoffSeconds { get; set; }

    public long? ProgressCurrent { get; internal set; }
    public long? ProgressTotal { get; internal set; }
    public string? ProgressMessage { get; internal set; }

    public DateTimeOffset EnqueuedAt { get; set; }
    public DateTimeOffset? ScheduledFor { get; internal set; }
    public DateTimeOffset? StartedAt { get; internal set; }
    public DateTimeOffset? FinishedAt { get; internal set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    /// <summary>Written by the database's clock (<c>now()</c>), like every time the relay compares with it.</summary>
    public DateTimeOffset UpdatedAt { get; internal set; }

    /// <summary>Publishes of this task the broker refused in a row (null: none); see <c>Relay:MaxPublishAttempts</c>.</summary>
    public int? PublishAttempts { get; internal set; }

    /// <summary>After a refused publish, when the relay tries again (the database's time).</summary>
    public DateTimeOffset? PublishAfter { get; internal set; }

    public string? Worker { get; internal set; }

    /// <summary>The broker message that started the current attempt: only that message may take a running task over.</summary>
    public Guid? MessageId { get; internal set; }

    /// <summary>When the running attempt's worker last said it is alive; see <c>Tasks:LeaseSeconds</c>.</summary>
    public DateTimeOffset? HeartbeatAt { get; internal set; }
    public string? ScheduleName { get; set; }
    /// <summary>For a schedule's fire, the time it was scheduled for (its id is derived from it and the schedule's name).</summary>
    public DateTimeOffset? ScheduledFireTime { get; set; }
    public string? IdempotencyKey { get; set; }

    /// <summary>The API key that enqueued the task (null: a schedule, a handler, the CLI); its idempotency keys are its own.</summary>
    public Guid? ApiKeyId { get; set; }
    public bool CancelRequested { get; internal set; }

    /// <summary>The W3C trace context of whoever enqueued the task, so a delayed or swept publish joins its trace.</summary>
    public string? TraceParent { get; set; }
}
