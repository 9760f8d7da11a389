namespace Tasks.Core.Lifecycle;

/// <summary>What one round of the relay (<see cref="TaskStateMachine.ReleaseAsync"/>) looks for, and how it treats refusals.</summary>
/// <param name="PendingGrace">A <c>pending</c> task this old (by the database's clock) has lost its publisher.</param>
/// <param name="BatchSize">Most tasks released, and published, per round.</param>
/// <param name="QueuedGrace">A <c>queued</c> task not started this long after its publish is published again; null: not looked for this round.</param>
/// <param name="MaxPublishAttempts">Refused publishes in a row after which a task is <c>failed</c>.</param>
/// <param name="PublishBackoff">The wait before a refused task's second try; doubled at each try after.</param>
public sealed record ReleaseSettings(TimeSpan PendingGrace, int BatchSize, TimeSpan? QueuedGrace, int MaxPublishAttempts, TimeSpan PublishBackoff);

/// <summary>
/// What a round of the relay did: tasks published, those the broker refused (charged a try), and those it nacked
/// (<paramref name="Deferred"/>: not charged, tried again after <see cref="ReleaseSettings.PublishBackoff"/>).
/// </summary>
public sealed record ReleaseResult(int Published, IReadOnlyList<RefusedPublish> Refused, IReadOnlyList<PublishRefusal> Deferred)
{
    public static readonly ReleaseResult None = new(0, [], []);
}

/// <summary>A task whose publish the broker refused, for the <paramref name="Attempts"/>th time in a row.</summary>
/// <param name="GaveUp">It is now <c>failed</c>, with <paramref name="Reason"/> as its error.</param>
/// <param name="RetryIn">Otherwise, when it is tried again.</param>
public sealed record RefusedPublish(TaskToPublish Task, string Reason, int Attempts, bool GaveUp, TimeSpan? RetryIn);
