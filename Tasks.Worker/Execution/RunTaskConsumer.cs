using MassTransit;
using Tasks.Contracts.Messages;

namespace Tasks.Worker.Execution;

/// <summary>
/// Thin on purpose: the message names a task row; <see cref="TaskRunner"/> does the rest. Connected as a handler
/// (<c>WorkerExtensions</c>), so no DI scope is made per message.
/// </summary>
public sealed class RunTaskConsumer(TaskRunner runner) : IConsumer<RunTask>
{
    public Task Consume(ConsumeContext<RunTask> context) => runner.RunAsync(
        new TaskMessage([context.Message.TaskId], null, context.MessageId ?? Guid.Empty, context.ReceiveContext.InputAddress,
            _ => context.SendBackAsync(context.Message)),
        context.CancellationToken);
}
