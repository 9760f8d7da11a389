using Tasks.Core.Entities;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Either every task was accepted (new or, for a repeated idempotency key or id, the earlier one) or none:
/// <see cref="Errors"/> lists invalid fields, <see cref="Conflicts"/> idempotency keys already used for another task.
/// </summary>
public sealed record EnqueueResult(IReadOnlyList<TaskRecord> Tasks, IReadOnlyDictionary<string, string[]> Errors)
{
    public IReadOnlyDictionary<string, string[]> Conflicts { get; init; } = new Dictionary<string, string[]>();

    public bool IsValid => Errors.Count == 0 && Conflicts.Count == 0;
}
