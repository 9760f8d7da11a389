namespace Tasks.Contracts.Messages;

/// <summary>
/// A command on the control channel (the fan-out exchange <c>tasks.control</c>), seen by every worker.
/// <paramref name="Target"/> names the one worker that acts on it (its <c>Worker:Name</c>), or is null for all;
/// those that act answer <see cref="ControlReply"/> to <paramref name="ReplyTo"/>, when there is one.
/// <paramref name="Command"/> is <c>ping</c>, <c>cancel</c> (<paramref name="TaskId"/>), <c>shutdown</c>, <c>pause</c>
/// or <c>resume</c> (<paramref name="Queue"/>).
/// </summary>
public sealed record ControlCommand(Guid Id, string Command, string? Target, Uri? ReplyTo, Guid? TaskId = null, string? Queue = null);
