using MassTransit;
using Microsoft.Extensions.Options;
using Tasks.Contracts.Messages;
using Tasks.Core.Control;
using Tasks.Worker.Execution;

namespace Tasks.Worker.Control;

/// <summary>
/// Acts on a command of the control channel meant for this worker (all, or this one by name), then replies to the
/// sender's reply queue. A shutdown replies first, then stops the host as SIGTERM does.
/// </summary>
public sealed partial class ControlCommandConsumer(
    IOptions<WorkerOptions> options, RunningTasks running, QueuePauses pauses, IHostApplicationLifetime lifetime,
    ILogger<ControlCommandConsumer> logger) : IConsumer<ControlCommand>
{
    private readonly string _name = options.Value.ResolvedName;

    public async Task Consume(ConsumeContext<ControlCommand> context)
    {
        var command = context.Message;
        if (command.Target is not null && command.Target != _name) return;
        var (done, detail) = command.Command switch
        {
            ControlChannel.Ping => (true, "pong"),
            ControlChannel.Cancel => Cancel(command.TaskId),
            ControlChannel.Shutdown => (true, "stopping gracefully"),
            ControlChannel.Pause => Paused(command.Queue, pauses.Pause(command.Queue ?? ""), "paused"),
            ControlChannel.Resume => Paused(command.Queue, pauses.Resume(command.Queue ?? ""), "resumed"),
            _ => (false, $"unknown command '{command.Command}'"),
        };
        // A cancel goes to every worker: only the one running the task has something to say.
        if (command.Command != ControlChannel.Cancel || done) LogCommand(logger, command.Id, command.Command, command.Target ?? "all", done, detail);
        if (command.ReplyTo is { } replyTo)
        {
            var sender = await context.GetSendEndpoint(replyTo);
            await sender.Send(new ControlReply(command.Id, _name, command.Command, done, detail), context.CancellationToken);
        }
        if (command.Command == ControlChannel.Shutdown) lifetime.StopApplication();
    }

    // The same path as the cancel poll's: the task's token fires, and its run records the cancel.
    private (bool, string) Cancel(Guid? taskId) =>
        taskId is { } id && running.RequestCancel(id) ? (true, $"task {id}: token fired") : (false, $"task {taskId} is not running here");

    private static (bool, string) Paused(string? queue, QueuePauses.Change change, string done) => change switch
    {
        QueuePauses.Change.Done => (true, $"queue {queue} {done}"),
        QueuePauses.Change.Already => (true, $"queue {queue} was {done} already"),
        _ => (false, $"queue {queue} is not consumed by this worker"),
    };

    [LoggerMessage(LogLevel.Information, "Control command {CommandId} ({Command}, for {Target}): done={Done}, {Detail}")]
    private static partial void LogCommand(ILogger logger, Guid commandId, string command, string target, bool done, string detail);
}
