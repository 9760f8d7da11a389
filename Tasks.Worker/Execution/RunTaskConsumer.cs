using MassTransit;
using Tasks.Contracts.Messages;

namespace Tasks.Worker.Execution;

/// <summary>Thin on purpose: the message names a task row; <see cref="TaskRunner"/> does the rest.</summary>
public sealed class RunTaskConsumer(TaskRunner runner) : IConsumer<RunTask>
{
    public Task Consume(ConsumeContext<RunTask> context) =>
        runner.RunAsync(context.Message.TaskId, context.MessageId ?? Guid.Empty, context.ReceiveContext.InputAddress, null, context.CancellationToken);
}

/// <summary>
/// Several tasks in one message: each runs as if it had a message of its own (within the worker's concurrency,
/// see <see cref="TaskRunner"/>), and the message is acknowledged once all of them have an outcome. If any could
/// not be run (database down, worker stopping), the message goes back whole once the others are done: on its
/// redelivery the tasks that finished are dropped at their claim, and the rest run.
/// </summary>
public sealed class RunTasksConsumer(TaskRunner runner) : IConsumer<RunTasks>
{
    public Task Consume(ConsumeContext<RunTasks> context)
    {
        var (ids, traces) = (context.Message.TaskIds, context.Message.TraceParents);
        var messageId = context.MessageId ?? Guid.Empty;
        var queue = context.ReceiveContext.InputAddress;
        var runs = new Task[ids.Count];
        for (var i = 0; i < ids.Count; i++) runs[i] = runner.RunAsync(ids[i], messageId, queue, traces?.ElementAtOrDefault(i), context.CancellationToken);
        return Task.WhenAll(runs);
    }
}
