namespace Tasks.Contracts;

/// <summary>
/// Marks a record as the arguments of a task: its stable name (what clients enqueue by, never rename it)
/// and the defaults a call may override.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class TaskContractAttribute(string name) : Attribute
{
    public string Name { get; } = name;

    /// <summary>The queue the task goes to unless the caller names another.</summary>
    public string Queue { get; init; } = "default";

    /// <summary>How many attempts in all before the task is <c>failed</c>.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>Seconds before the task's token fires; 0 means no limit.</summary>
    public int TimeLimitSeconds { get; init; } = 300;

    /// <summary>The first retry's delay; each further retry doubles it (with jitter).</summary>
    public double BackoffSeconds { get; init; } = 5;

    /// <summary>
    /// A maintenance task (it deletes or rewrites data that isn't the caller's): only callers with the
    /// <c>admin</c> scope may enqueue it.
    /// </summary>
    public bool Admin { get; init; }
}
