namespace Tasks.Core.Lifecycle;

/// <summary>Where a task is in its life. See <see cref="TaskLifecycle"/> for the moves between them.</summary>
public enum TaskState
{
    /// <summary>Accepted and committed, not yet handed to the broker (the row is the outbox).</summary>
    Pending,
    /// <summary>Waiting in PostgreSQL for its time: a delayed task or a retry's back-off.</summary>
    Scheduled,
    /// <summary>Handed to the broker, waiting for a worker.</summary>
    Queued,
    Running,
    Succeeded,
    /// <summary>Attempts exhausted (or timed out): the dead set, retried only by hand.</summary>
    Failed,
    Canceled,
    Expired,
}
