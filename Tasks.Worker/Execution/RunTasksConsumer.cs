using MassTransit;
using Tasks.Contracts.Messages;

namespace Tasks.Worker.Execution;

/// <summary>
/// Several tasks in one message: each runs as if it had a message of its own (within the worker's concurrency,
/// see <see cref="TaskRunner"/>), and the message is acknowledged once all of them have an outcome, or have waited
/// too long for a slot and gone back to the queue in a message of their own. If any could not be run (database
/// down, worker stopping), the message goes back whole once the others are done: on its redelivery the tasks that
/// finished are dropped at their claim, and the rest run.
/// </summary>
public sealed class RunTasksConsumer(TaskRunner runner) : IConsumer<RunTasks>
{
    public Task Consume(ConsumeContext<RunTasks> context) => runner.RunAsync(
        new TaskMessage(context.Message.TaskIds, context.Message.TraceParents, context.MessageId ?? Guid.Empty, context.ReceiveContext.InputAddress,
            waiting => context.SendBackAsync(Subset(context.Message, waiting))),
        context.CancellationToken);

    /// <summary>The tasks at <paramref name="indexes"/>, each keeping its trace: its own when the message listed them, else the message's.</summary>
    private static RunTasks Subset(RunTasks message, IReadOnlyList<int> indexes) => new(
        [.. indexes.Select(i => message.TaskIds[i])],
        message.TraceParents is { } traces ? [.. indexes.Select(i => traces.ElementAtOrDefault(i))] : null);
}
