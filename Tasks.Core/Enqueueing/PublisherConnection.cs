using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Tasks.Core.Hosting;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// The publisher's own RabbitMQ connection and publishing channel (confirms on), and the queues declared on it.
/// A broken channel is replaced on the next use, declarations and all.
/// See docs/design.md#the-relay-refused-publishes-the-databases-clock-lost-queued-messages-issue-23
/// </summary>
internal sealed class PublisherConnection(RabbitSettings settings, IHostEnvironment environment) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, bool> _declared = new(StringComparer.Ordinal);
    private IConnection? _connection;
    private IChannel? _channel;

    public bool ChannelIsOpen => _channel is { IsOpen: true };

    public async Task<IChannel> OpenChannelAsync(CancellationToken ct)
    {
        if (_channel is { IsOpen: true } open) return open;
        if (_connection is { IsOpen: true } connection)
        {
            // Only the channel was closed (the broker refused something sent on it): the connection and its declarations stand.
            if (_channel is not null) _ = CloseAsync(_channel, null);
            return _channel = await CreateChannelAsync(connection, ct);
        }
        Reset();
        var factory = new ConnectionFactory
        {
            Uri = settings.AmqpUri,
            ClientProvidedName = $"{environment.ApplicationName} publisher",
            AutomaticRecoveryEnabled = false, // a broken channel is replaced on the next publish, declarations and all
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        _connection = await factory.CreateConnectionAsync(ct);
        return _channel = await CreateChannelAsync(_connection, ct);
    }

    /// <summary>
    /// Declares the queues not yet declared on this connection, on a short-lived channel of their own: a queue the
    /// broker refuses closes the channel it was declared on, and the publishing channel carries confirms still in
    /// flight, which it would fail. Returns the refused queues with the broker's reason (null when none was).
    /// </summary>
    public async Task<Dictionary<string, string>?> DeclareAsync(IEnumerable<string> queues, CancellationToken ct)
    {
        Dictionary<string, string>? refused = null;
        IChannel? declarer = null;
        try
        {
            foreach (var queue in queues)
            {
                if (_declared.ContainsKey(queue) || refused?.ContainsKey(queue) == true) continue;
                declarer ??= await OpenDeclarerAsync(ct);
                if (await DeclareAsync(declarer, queue, ct) is { } reason)
                {
                    (refused ??= new(StringComparer.Ordinal))[queue] = reason;
                    _ = CloseAsync(declarer, null);
                    declarer = null;
                }
            }
        }
        finally
        {
            if (declarer is not null) _ = CloseAsync(declarer, null); // in the background: the batch needn't wait
        }
        return refused;
    }

    private async Task<IChannel> OpenDeclarerAsync(CancellationToken ct)
    {
        await OpenChannelAsync(ct); // the connection
        return await _connection!.CreateChannelAsync(cancellationToken: ct);
    }

    /// <summary>Returns why the queue was refused, or null once it is declared.</summary>
    private async Task<string?> DeclareAsync(IChannel declarer, string queue, CancellationToken ct)
    {
        try
        {
            // The same queue the workers' receive endpoints declare (durable, no arguments), so it exists and keeps
            // the message even before any worker has started.
            await declarer.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: ct);
            _declared[queue] = true;
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException && _connection is { IsOpen: true })
        {
            // The connection stands: the broker refused this queue (closing the declaring channel), or the client
            // did (a name it can't send). Its tasks are refused; the next queue gets a new channel.
            return e is OperationInterruptedException { ShutdownReason: { } why }
                ? $"The broker refused queue '{queue}': {why.ReplyText}"
                : $"Queue '{queue}' could not be declared: {e.Message}";
        }
    }

    /// <summary>A queue deleted meanwhile (a message to it came back): declared again by the next batch.</summary>
    public void Forget(string queue) => _declared.TryRemove(queue, out _);

    // Confirms tracked by the client, without its rate limiter: it delays publishes from half its limit on, and the
    // number in flight is bounded by the callers anyway.
    private static Task<IChannel> CreateChannelAsync(IConnection connection, CancellationToken ct) =>
        connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: null), ct);

    /// <summary>Drops the channel and connection; the next batch opens new ones. Closed in the background: a broker that stopped answering must not hold up the loop.</summary>
    public void Reset()
    {
        _declared.Clear();
        var (channel, connection) = (_channel, _connection);
        (_channel, _connection) = (null, null);
        _ = CloseAsync(channel, connection);
    }

    private static async Task CloseAsync(IChannel? channel, IConnection? connection)
    {
        try
        {
            if (channel is not null) await channel.DisposeAsync();
            if (connection is not null) await connection.DisposeAsync();
        }
        catch (Exception)
        {
            // Already broken: nothing more to release.
        }
    }

    public ValueTask DisposeAsync() => new(CloseAsync(_channel, _connection));
}
