namespace Tasks.Core.Lifecycle;

/// <summary>A task a worker holds for one attempt: what it needs to run it and to record the outcome.</summary>
public sealed record ClaimedTask(
    Guid Id, string Name, string Queue, string Args,
    int Attempt, int MaxAttempts, int AttemptsBase, int TimeLimitSeconds, double BackoffSeconds,
    DateTimeOffset DueAt, DateTimeOffset StartedAt, string Worker)
{
    /// <summary>Whether a failure of this attempt may be retried.</summary>
    public bool HasAttemptsLeft => Attempt - AttemptsBase < MaxAttempts;
}

/// <summary>What one lease renewal found: see <see cref="TaskStateMachine.HeartbeatAsync"/>.</summary>
public sealed record LeaseRenewal(IReadOnlySet<Guid> Renewed, IReadOnlyList<Guid> CancelRequested, IReadOnlyList<Guid> Lost);
