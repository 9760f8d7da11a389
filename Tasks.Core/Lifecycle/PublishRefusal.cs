namespace Tasks.Core.Lifecycle;

/// <summary>
/// A task the broker would not take, with its reason: its queue can't be declared (a reserved name, a queue of that
/// name declared otherwise), its message was returned or rejected, or the message couldn't even be written. It is
/// the task's own problem, unlike a broker that can't be reached, which is everyone's.
/// </summary>
public sealed record PublishRefusal(TaskToPublish Task, string Reason);

/// <summary>Thrown by <c>TaskPublisher.PublishAsync</c> when the broker refused some of the caller's tasks.</summary>
public sealed class PublishRefusedException(IReadOnlyList<PublishRefusal> refusals)
    : Exception($"The broker refused {refusals.Count} task(s): {refusals[0].Reason}")
{
    public IReadOnlyList<PublishRefusal> Refusals { get; } = refusals;
}
