using MassTransit;
using Microsoft.Extensions.Logging;
using Tasks.Contracts.Messages;

namespace Tasks.Core.Control;

/// <summary>Hands each reply on this host's reply queue to the command waiting for it.</summary>
public sealed partial class ControlReplyConsumer(ControlReplies replies, TimeProvider clock, ILogger<ControlReplyConsumer> logger) : IConsumer<ControlReply>
{
    public Task Consume(ConsumeContext<ControlReply> context)
    {
        var reply = context.Message;
        var delivered = replies.Deliver(reply, clock.GetTimestamp());
        LogReply(logger, reply.CommandId, reply.Command, reply.Worker, reply.Done, reply.Detail, delivered);
        return Task.CompletedTask;
    }

    [LoggerMessage(LogLevel.Information, "Control command {CommandId} ({Command}): {Worker} replied done={Done}: {Detail} (awaited: {Awaited})")]
    private static partial void LogReply(ILogger logger, Guid commandId, string command, string worker, bool done, string detail, bool awaited);
}
