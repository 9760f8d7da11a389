using MassTransit;
using Microsoft.Extensions.Logging;
using Tasks.Contracts.Messages;

namespace Tasks.Core.Control;

/// <summary>A worker's reply and how long after the command was sent it arrived.</summary>
public sealed record ControlAnswer(ControlReply Reply, TimeSpan RoundTrip);

/// <summary>
/// Sends commands on the control channel and collects the workers' replies on this host's reply queue until a
/// timeout (or, for a command to one named worker, its reply). Nobody is known to be there: an empty list is the
/// answer when no worker replied in time; <see cref="ControlUnavailableException"/> when the command couldn't be sent.
/// </summary>
public sealed partial class ControlClient(IBus bus, ControlReplies replies, TimeProvider clock, ILogger<ControlClient> logger)
{
    public async Task<IReadOnlyList<ControlAnswer>> AskAsync(
        string command, string? target, TimeSpan timeout, CancellationToken ct, Guid? taskId = null, string? queue = null)
    {
        var id = Guid.NewGuid();
        var inbox = replies.Open(id);
        var answers = new List<ControlAnswer>();
        var sent = false;
        try
        {
            using var late = new CancellationTokenSource(timeout, clock);
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct, late.Token);
            var start = clock.GetTimestamp();
            await SendAsync(new ControlCommand(id, command, target, replies.Address, taskId, queue), waiting.Token);
            sent = true;
            while (await inbox.WaitToReadAsync(waiting.Token))
            {
                while (inbox.TryRead(out var reply))
                {
                    answers.Add(new ControlAnswer(reply.Reply, clock.GetElapsedTime(start, reply.At)));
                    if (target is not null) return answers; // names are unique: the one worker answered
                }
            }
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            // the timeout: what arrived is the answer, unless the command never left (no connection to the broker)
            if (!sent) throw new ControlUnavailableException($"The broker did not take the {command} command within {timeout.TotalMilliseconds:0} ms.", e);
        }
        finally
        {
            replies.Close(id);
        }
        return answers;
    }

    /// <summary>A command nobody replies to (a cancel broadcast: the worker running the task acts, the others ignore it).</summary>
    public Task TellAsync(string command, string? target, CancellationToken ct, Guid? taskId = null, string? queue = null) =>
        SendAsync(new ControlCommand(Guid.NewGuid(), command, target, null, taskId, queue), ct);

    private async Task SendAsync(ControlCommand command, CancellationToken ct)
    {
        try
        {
            var exchange = await bus.GetSendEndpoint(ControlChannel.Address);
            await exchange.Send(command, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSendFailed(logger, e, command.Id, command.Command);
            throw new ControlUnavailableException($"The broker did not take the {command.Command} command: {e.Message}", e);
        }
        LogSent(logger, command.Id, command.Command, command.Target ?? "all workers", command.TaskId, command.Queue);
    }

    [LoggerMessage(LogLevel.Warning, "Control command {CommandId} ({Command}) could not be sent")]
    private static partial void LogSendFailed(ILogger logger, Exception e, Guid commandId, string command);

    [LoggerMessage(LogLevel.Information, "Control command {CommandId} ({Command}) sent to {Target} (task {TaskId}, queue {Queue})")]
    private static partial void LogSent(ILogger logger, Guid commandId, string command, string target, Guid? taskId, string? queue);
}

/// <summary>A control command the broker didn't take (refused, or no connection to send it on): nobody could have got it.</summary>
public sealed class ControlUnavailableException(string message, Exception inner) : Exception(message, inner);
