using Tasks.Core.Lifecycle;

namespace Tasks.Core.Queries;

/// <summary>A task list query: optional filters, newest first, a page of <see cref="Limit"/> after <see cref="After"/>.</summary>
public sealed record TaskFilter(TaskState? State, string? Name, string? Queue, int Limit, Guid? After)
{
    /// <summary>Only the tasks a schedule's fires (and manual triggers) enqueued.</summary>
    public string? Schedule { get; init; }
}
