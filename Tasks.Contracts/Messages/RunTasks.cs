namespace Tasks.Contracts.Messages;

/// <summary>
/// Tells a worker to run several tasks of one queue, enqueued together: one broker message instead of one each
/// (see <c>Tasks:MaxTasksPerMessage</c>). Like <see cref="RunTask"/> it only says which rows; the worker runs them
/// within its concurrency and acknowledges the message once every one of them has an outcome.
/// </summary>
public sealed record RunTasks(IReadOnlyList<Guid> TaskIds);
