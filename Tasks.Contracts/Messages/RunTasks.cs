namespace Tasks.Contracts.Messages;

/// <summary>
/// Tells a worker to run several tasks of one queue, enqueued together or at the same moment: one broker message
/// instead of one each (see <c>Tasks:MaxTasksPerMessage</c>). Like <see cref="RunTask"/> it only says which rows;
/// the worker runs them within its concurrency and acknowledges the message once every one of them has an outcome.
/// <paramref name="TraceParents"/>, when the tasks came from different traces, holds each one's W3C trace context.
/// </summary>
public sealed record RunTasks(IReadOnlyList<Guid> TaskIds, IReadOnlyList<string?>? TraceParents = null);
