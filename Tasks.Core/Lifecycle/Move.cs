namespace Tasks.Core.Lifecycle;

/// <summary>One allowed change of a task's state: see <see cref="TaskLifecycle"/>.</summary>
/// <param name="By">Who makes it.</param>
/// <param name="From">The states it starts from (none: the task is new).</param>
/// <param name="To">The states it may leave the task in.</param>
/// <param name="Stamps">The timestamps it writes.</param>
public sealed record Move(Actor By, TaskState[] From, TaskState[] To, string Stamps);

/// <summary>Who makes a move.</summary>
public enum Actor
{
    /// <summary>The HTTP API, for an operator or a client.</summary>
    Api,
    /// <summary><c>TaskEnqueuer</c>, for whoever enqueues (API, scheduler, handlers).</summary>
    Enqueuer,
    /// <summary>The scheduler's outbox relay.</summary>
    Relay,
    /// <summary>The worker running (or about to run) the task.</summary>
    Worker,
}
