namespace Tasks.Core.Lifecycle;

/// <summary>
/// A task the broker would not take, with its reason. A refused queue, a returned or unwritable message is the
/// task's own problem (<paramref name="Charged"/>); a nack (a full queue) is the broker's state, not charged.
/// See docs/design.md#the-relay-refused-publishes-the-databases-clock-lost-queued-messages-issue-23
/// </summary>
public sealed record PublishRefusal(TaskToPublish Task, string Reason, bool Charged = true);

/// <summary>Thrown by <c>TaskPublisher.PublishAsync</c> when the broker refused some of the caller's tasks.</summary>
public sealed class PublishRefusedException(IReadOnlyList<PublishRefusal> refusals)
    : Exception($"The broker refused {refusals.Count} task(s): {refusals[0].Reason}")
{
    public IReadOnlyList<PublishRefusal> Refusals { get; } = refusals;
}
