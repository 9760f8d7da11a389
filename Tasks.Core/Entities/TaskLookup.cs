namespace Tasks.Core.Entities;

/// <summary>
/// A task's name and queue, written once with the task (by a trigger on <c>tasks</c>, see the TaskLookup migration)
/// and never changed: the (name, id) and (queue, id) indexes that page lists by name or queue live on this
/// insert-only table, so the updates of a task's life don't write into them (an update that changes
/// <c>state</c> can't be a HOT update, and writes a new entry into every index on its table).
/// </summary>
public sealed class TaskLookup
{
    public Guid Id { get; init; }
    public required string Name { get; init; }
    public required string Queue { get; init; }
}
