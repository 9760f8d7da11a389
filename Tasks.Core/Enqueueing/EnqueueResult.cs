using Tasks.Core.Entities;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Either every task was accepted (new or, for a repeated idempotency key or id, the earlier one) or none:
/// <see cref="Errors"/> lists invalid fields, <see cref="Conflicts"/> idempotency keys already used for another task.
/// </summary>
public sealed record EnqueueResult(IReadOnlyList<TaskRecord> Tasks, IReadOnlyDictionary<string, string[]> Errors)
{
    public IReadOnlyDictionary<string, string[]> Conflicts { get; init; } = new Dictionary<string, string[]>();

    /// <summary>Ids of <see cref="Tasks"/> that were there already (a repeated id or idempotency key, a fire enqueued before): not enqueued again.</summary>
    public IReadOnlySet<Guid> Repeated { get; init; } = new HashSet<Guid>();

    public bool IsValid => Errors.Count == 0 && Conflicts.Count == 0;
}
