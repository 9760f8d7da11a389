namespace Tasks.Contracts.Messages;

/// <summary>
/// A worker's answer to the <see cref="ControlCommand"/> <paramref name="CommandId"/>: who answers
/// (<paramref name="Worker"/>), whether it did what was asked (<paramref name="Done"/>) and what it did, in words.
/// </summary>
public sealed record ControlReply(Guid CommandId, string Worker, string Command, bool Done, string Detail);
