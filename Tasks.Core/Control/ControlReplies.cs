using System.Collections.Concurrent;
using System.Threading.Channels;
using Tasks.Contracts.Messages;

namespace Tasks.Core.Control;

/// <summary>
/// This host's reply queue (a temporary one of its own, <see cref="Address"/>) and the commands waiting for replies
/// on it: each reply goes to the caller of the command it names, stamped with its arrival for the round trip.
/// </summary>
public sealed class ControlReplies
{
    private readonly ConcurrentDictionary<Guid, Channel<(ControlReply Reply, long At)>> _waiting = new();

    /// <summary>The reply queue's address, set as the bus is configured.</summary>
    public Uri? Address { get; internal set; }

    internal ChannelReader<(ControlReply Reply, long At)> Open(Guid commandId)
    {
        var inbox = Channel.CreateUnbounded<(ControlReply, long)>(new UnboundedChannelOptions { SingleReader = true });
        _waiting[commandId] = inbox;
        return inbox.Reader;
    }

    internal void Close(Guid commandId) => _waiting.TryRemove(commandId, out _);

    /// <summary>False when nobody waits for it any more (a reply after the caller's timeout).</summary>
    internal bool Deliver(ControlReply reply, long at) => _waiting.TryGetValue(reply.CommandId, out var inbox) && inbox.Writer.TryWrite((reply, at));
}
