using System.ComponentModel.DataAnnotations;

namespace Tasks.Core.Hosting;

/// <summary>Settings every host shares (section <c>Tasks</c>).</summary>
public sealed class TasksOptions : IValidatableObject
{
    public const string Section = "Tasks";

    /// <summary>Finished tasks older than this many days are deleted by <c>tasks.cleanup</c>.</summary>
    [Range(0, 36500)]
    public int RetentionDays { get; set; } = 7;

    /// <summary>
    /// How long enqueueing waits for the broker to confirm a publish. When it can't, the task stays <c>pending</c>
    /// (already committed, so accepted) and the scheduler's sweeper publishes it once the broker is back.
    /// </summary>
    [Range(0.1, 300)]
    public double PublishTimeoutSeconds { get; set; } = 5;

    /// <summary>
    /// A running task whose worker hasn't confirmed it is alive (every <c>Worker:CancelPollMilliseconds</c>) for
    /// this long is taken to have lost its worker: the scheduler puts it back, and only then may it run elsewhere.
    /// Until then a redelivered or duplicate message for it is dropped, so a task never runs twice at once.
    /// </summary>
    [Range(1, 3600)]
    public int LeaseSeconds { get; set; } = 30;

    /// <summary>
    /// How long after its publish a task is recorded <c>queued</c> (with every other task published meanwhile, in
    /// one statement). A task a worker claims sooner, as most are, goes from <c>pending</c> straight to
    /// <c>running</c> and is never written <c>queued</c>: one row version fewer. Keep it well under the relay's
    /// <c>Relay:PendingGraceSeconds</c>, which publishes again a task still <c>pending</c> after that long.
    /// </summary>
    [Range(0, 2000)]
    public int QueuedMarkDelayMilliseconds { get; set; } = 500;

    /// <summary>
    /// Most tasks of one queue enqueued together that share a broker message (<see cref="Contracts.Messages.RunTasks"/>):
    /// ten, or as many as spread them over ten messages, up to this. 1 gives every task a message of its own, for
    /// long tasks that should spread over many workers. See docs/design.md#tasks-enqueued-together-share-a-broker-message.
    /// </summary>
    [Range(1, 1000)]
    public int MaxTasksPerMessage { get; set; } = DefaultMaxTasksPerMessage;

    public const int DefaultMaxTasksPerMessage = 50;

    /// <summary>
    /// Queues tasks may be sent to besides <c>default</c> and those the task contracts name: each a queue name, or a
    /// prefix ending in <c>*</c> (<c>tenant-*</c>), or <c>*</c> for any. A task for any other queue is refused, so
    /// no caller can make the broker create queues nobody consumes.
    /// </summary>
    public string[] Queues { get; set; } = [];

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        for (var i = 0; i < Queues.Length; i++)
            if (Registry.QueueNames.PatternProblem(Queues[i] ?? "") is { } problem)
                yield return new ValidationResult($"Tasks:Queues:{i}: {problem}", [nameof(Queues)]);
    }
}
