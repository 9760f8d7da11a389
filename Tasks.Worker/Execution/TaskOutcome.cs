namespace Tasks.Worker.Execution;

/// <summary>What a handler says happens next. Exceptions are for the unexpected; they count as <see cref="Retry"/>.</summary>
public abstract record TaskOutcome
{
    private TaskOutcome() { }

    /// <summary>Done. <paramref name="result"/> is stored as JSON and shown by the API.</summary>
    public static TaskOutcome Succeeded(object? result = null) => new SucceededOutcome(result);

    /// <summary>Try again after <paramref name="after"/> (default: the task's exponential back-off), while attempts remain.</summary>
    public static TaskOutcome Retry(string reason, TimeSpan? after = null) => new RetryOutcome(reason, after);

    /// <summary>Stop for good: the task ends <c>failed</c> without using its remaining attempts.</summary>
    public static TaskOutcome Fail(string reason) => new FailOutcome(reason);

    /// <summary>Stop for good: the task ends <c>canceled</c>.</summary>
    public static TaskOutcome Cancel(string reason) => new CancelOutcome(reason);

    internal sealed record SucceededOutcome(object? Result) : TaskOutcome;
    internal sealed record RetryOutcome(string Reason, TimeSpan? After, string? Details = null) : TaskOutcome;
    internal sealed record FailOutcome(string Reason, string? Details = null) : TaskOutcome;
    internal sealed record CancelOutcome(string Reason) : TaskOutcome;

    /// <summary>
    /// Not the task's outcome at all: the attempt lost its database or broker connection, its lease, or its worker
    /// is stopping. Nothing is recorded and the message goes back to the queue (the attempt counts like a crash's).
    /// <paramref name="HandlerReturned"/>: the handler is done (not abandoned), so the lease may be handed on at once.
    /// </summary>
    internal sealed record PutBackOutcome(string Reason, Exception? Cause, bool HandlerReturned) : TaskOutcome;
}
