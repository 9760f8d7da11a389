namespace Tasks.Core.Lifecycle;

/// <summary>A task a claim found not runnable and moved to <see cref="State"/> (canceled, expired, or failed after crashes).</summary>
public sealed record SkippedTask(Guid Id, TaskState State, string Name, string Queue);
