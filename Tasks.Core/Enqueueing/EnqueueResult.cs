using Tasks.Core.Entities;

namespace Tasks.Core.Enqueueing;

/// <summary>Either every task was accepted (new or, for a repeated idempotency key or id, the earlier one) or none.</summary>
public sealed record EnqueueResult(IReadOnlyList<TaskRecord> Tasks, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool IsValid => Errors.Count == 0;
}
