namespace Tasks.Core.Entities;

/// <summary>
/// An attempt of a task that ended other than in success, written by the move that ended it, in the same statement
/// (<c>Lifecycle/Moves/</c>). The running or succeeded attempt is the task row's own: a task's history is these
/// rows and that one (<see cref="Queries.AttemptQueries"/>). See docs/design.md#attempt-history-issue-29.
/// </summary>
public sealed class TaskAttempt
{
    public Guid TaskId { get; init; }
    /// <summary>The task's <c>attempts</c> count when the attempt was claimed (it runs on across manual retries).</summary>
    public int Attempt { get; init; }
    public string? Worker { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset EndedAt { get; init; }
    /// <summary><see cref="AttemptOutcomes"/>: retried, failed, canceled or lost.</summary>
    public required string Outcome { get; init; }
    /// <summary>The first line of the attempt's error (the task row keeps only the last error in full).</summary>
    public string? Error { get; init; }
}

/// <summary>How an attempt ended, as the history shows it.</summary>
public static class AttemptOutcomes
{
    /// <summary>Failed, another attempt scheduled.</summary>
    public const string Retried = "retried";
    /// <summary>Failed, no attempt left (or not to be retried).</summary>
    public const string Failed = "failed";
    public const string Canceled = "canceled";
    /// <summary>Its worker stopped renewing the lease (crashed, cut off, or put it back); taken over or released.</summary>
    public const string Lost = "lost";
    /// <summary>The task row's current attempt, still running.</summary>
    public const string Running = "running";
    public const string Succeeded = "succeeded";
}
