namespace Tasks.Core.Lifecycle;

/// <summary>
/// A task the broker would not take, with its reason: its queue can't be declared (a reserved name, a queue of that
/// name declared otherwise), its message was returned (unroutable), or the message couldn't even be written. That is
/// the task's own problem (<paramref name="Charged"/>), unlike a broker that can't be reached, which is everyone's.
/// A nacked message (a full queue with <c>overflow: reject-publish</c>, an internal error) is the broker's state, not
/// the task's: it is not charged, and the task is only tried again later.
/// </summary>
public sealed record PublishRefusal(TaskToPublish Task, string Reason, bool Charged = true);

/// <summary>Thrown by <c>TaskPublisher.PublishAsync</c> when the broker refused some of the caller's tasks.</summary>
public sealed class PublishRefusedException(IReadOnlyList<PublishRefusal> refusals)
    : Exception($"The broker refused {refusals.Count} task(s): {refusals[0].Reason}")
{
    public IReadOnlyList<PublishRefusal> Refusals { get; } = refusals;
}
