namespace Tasks.Contracts.Messages;

/// <summary>Fanned out to every worker: whoever runs the task fires its cancellation token.</summary>
public sealed record CancelTaskRequested(Guid TaskId);
