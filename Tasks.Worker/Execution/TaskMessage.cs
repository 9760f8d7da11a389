namespace Tasks.Worker.Execution;

/// <summary>
/// The tasks one broker message carries (a <c>RunTask</c> or a <c>RunTasks</c>), the queue it came from, and how to
/// send some of them (by their index in <see cref="TaskIds"/>) back to that queue in a message of their own.
/// </summary>
public sealed record TaskMessage(
    IReadOnlyList<Guid> TaskIds, IReadOnlyList<string?>? TraceParents, Guid MessageId, Uri Queue,
    Func<IReadOnlyList<int>, Task> SendBackAsync)
{
    /// <summary>The trace the task at <paramref name="index"/> was enqueued in, when the message names one per task.</summary>
    public string? TraceParent(int index) => TraceParents?.ElementAtOrDefault(index);
}
