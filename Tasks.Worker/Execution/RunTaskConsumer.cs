using MassTransit;
using Tasks.Contracts.Messages;

namespace Tasks.Worker.Execution;

/// <summary>Thin on purpose: the message names a task row; <see cref="TaskRunner"/> does the rest.</summary>
public sealed class RunTaskConsumer(TaskRunner runner) : IConsumer<RunTask>
{
    public Task Consume(ConsumeContext<RunTask> context) => runner.RunAsync(
        new TaskMessage([context.Message.TaskId], null, context.MessageId ?? Guid.Empty, context.ReceiveContext.InputAddress,
            _ => context.SendBackAsync(context.Message)),
        context.CancellationToken);
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
    public Task Consume(ConsumeContext<RunTasks> context) => runner.RunAsync(
        new TaskMessage(context.Message.TaskIds, context.Message.TraceParents, context.MessageId ?? Guid.Empty, context.ReceiveContext.InputAddress,
            waiting => context.SendBackAsync(Subset(context.Message, waiting))),
        context.CancellationToken);

    /// <summary>The tasks at <paramref name="indexes"/>, each keeping its trace: its own when the message listed them, else the message's.</summary>
    private static RunTasks Subset(RunTasks message, IReadOnlyList<int> indexes) => new(
        [.. indexes.Select(i => message.TaskIds[i])],
        message.TraceParents is { } traces ? [.. indexes.Select(i => traces.ElementAtOrDefault(i))] : null);
}

internal static class SendBackExtensions
{
    /// <summary>
    /// Sends <paramref name="message"/> to the queue the consumed message came from, confirmed, and mandatory (as
    /// the enqueuer publishes): a message RabbitMQ can't route is refused, not confirmed and dropped.
    /// </summary>
    public static async Task SendBackAsync<T>(this ConsumeContext context, T message) where T : class
    {
        var queue = await context.GetSendEndpoint(context.ReceiveContext.InputAddress);
        await queue.Send(message, static send =>
        {
            if (send.TryGetPayload<RabbitMqSendContext>(out var rabbit)) rabbit.Mandatory = true;
        }, context.CancellationToken);
    }
}
