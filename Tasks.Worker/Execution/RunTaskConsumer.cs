using MassTransit;
using Tasks.Contracts.Messages;

namespace Tasks.Worker.Execution;

/// <summary>Thin on purpose: the message names a task row; <see cref="TaskRunner"/> does the rest.</summary>
public sealed class RunTaskConsumer(TaskRunner runner) : IConsumer<RunTask>
{
    public Task Consume(ConsumeContext<RunTask> context) =>
        runner.RunAsync([context.Message.TaskId], null, context.MessageId ?? Guid.Empty, context.ReceiveContext.InputAddress,
            _ => context.Send(context.ReceiveContext.InputAddress, context.Message), context.CancellationToken);
}

/// <summary>
/// Several tasks in one message: each runs as if it had a message of its own (within the worker's concurrency,
/// see <see cref="TaskRunner"/>), and the message is acknowledged once all of them have an outcome, or have waited
/// too long for a slot and gone back to the queue in a message of their own. If any could not be run (database
/// down, worker stopping), the message goes back whole once the others are done: on its redelivery the tasks that
/// finished are dropped at their claim, and the rest run.
/// </summary>
public sealed class RunTasksConsumer(TaskRunner runner) : IConsumer<RunTasks>
{
    public Task Consume(ConsumeContext<RunTasks> context)
    {
        var (ids, traces) = (context.Message.TaskIds, context.Message.TraceParents);
        // Tasks sent back keep their traces: each its own, or this message's (MassTransit passes it on).
        return runner.RunAsync(ids, traces, context.MessageId ?? Guid.Empty, context.ReceiveContext.InputAddress,
            waiting => context.Send(context.ReceiveContext.InputAddress,
                new RunTasks([.. waiting.Select(i => ids[i])], traces is null ? null : [.. waiting.Select(i => traces.ElementAtOrDefault(i))])),
            context.CancellationToken);
    }
}
