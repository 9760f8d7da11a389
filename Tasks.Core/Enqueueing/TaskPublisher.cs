using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Tasks.Contracts.Messages;
using Tasks.Core.Hosting;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Hands committed tasks to the broker: durable, persistent messages to the queue named after the task's queue, in
/// the given order, with many in flight. Consecutive tasks of one queue (and one trace) share a message, up to
/// <see cref="TasksOptions.MaxTasksPerMessage"/> (<see cref="RunTasks"/>); a task alone is a <see cref="RunTask"/>.
/// It returns once the broker has confirmed every message, and throws if any was refused, unroutable, or cut off
/// with the connection (the rows then stay <c>pending</c> and the relay publishes them again).
/// <para>
/// MassTransit can't keep the order of overlapping sends (its first send on an endpoint, and every reconnect, resume
/// waiting senders in any order), and awaiting each confirm in turn costs a broker round trip per message. So this
/// publishes on a channel of its own through RabbitMQ.Client, in MassTransit's JSON envelope, which the workers'
/// MassTransit consumers read like any other message; the trace travels in the header MassTransit reads
/// (<c>MT-Activity-Id</c>). One batch is written at a time (in order, without waiting for confirms); confirms are
/// awaited outside that lock, so concurrent callers share the broker's round trips.
/// </para>
/// </summary>
public sealed class TaskPublisher(RabbitSettings settings, IHostEnvironment environment, IOptionsMonitor<TasksOptions> options) : IAsyncDisposable
{
    private const string EnvelopeContentType = "application/vnd.masstransit+json";
    private static readonly JsonEncodedText RunTaskType = MessageType(nameof(RunTask));
    private static readonly JsonEncodedText RunTasksType = MessageType(nameof(RunTasks));

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<string> _declared = new(StringComparer.Ordinal);
    private IConnection? _connection;
    private IChannel? _channel;

    private static JsonEncodedText MessageType(string name) => JsonEncodedText.Encode($"urn:message:{typeof(RunTask).Namespace}:{name}");

    public async Task PublishAsync(IReadOnlyList<TaskToPublish> tasks, CancellationToken ct)
    {
        if (tasks.Count == 0) return;
        var messages = Pack(tasks, options.CurrentValue.MaxTasksPerMessage);
        var confirms = new Task[messages.Count];
        var body = new ArrayBufferWriter<byte>(256 + 40 * tasks.Count);
        await _gate.WaitAsync(ct);
        try
        {
            var channel = await OpenChannelAsync(ct);
            for (var i = 0; i < messages.Count; i++)
            {
                var queue = messages[i][0].Queue;
                if (!_declared.Contains(queue))
                {
                    // The same queue the workers' receive endpoints declare (durable, no arguments), so it exists
                    // and keeps the message even before any worker has started.
                    await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: ct);
                    _declared.Add(queue);
                }
                var (properties, message) = Envelope(messages[i], body);
                // Sends in call order (one batch at a time holds the gate); the returned task completes on the confirm.
                confirms[i] = channel.BasicPublishAsync("", queue, mandatory: true, properties, message, ct).AsTask();
            }
        }
        catch (Exception e)
        {
            foreach (var sent in confirms) _ = sent?.ContinueWith(t => t.Exception, TaskScheduler.Default); // observed: the batch failed
            // A caller that gave up leaves a healthy channel to the others (their confirms are in flight on it).
            if (e is not OperationCanceledException || _channel is not { IsOpen: true }) await ResetAsync();
            throw;
        }
        finally
        {
            _gate.Release();
        }
        await Task.WhenAll(confirms);
    }

    /// <summary>
    /// Runs of consecutive tasks with the same queue and trace, at most <paramref name="max"/> each, every task once
    /// per message (a task given twice goes out in two messages, as asked); the order kept.
    /// </summary>
    internal static List<List<TaskToPublish>> Pack(IReadOnlyList<TaskToPublish> tasks, int max)
    {
        var messages = new List<List<TaskToPublish>>();
        List<TaskToPublish>? current = null;
        foreach (var task in tasks)
        {
            if (current is null || current.Count >= max || current[0].Queue != task.Queue
                || current[0].TraceParent != task.TraceParent || current.Exists(t => t.Id == task.Id))
                messages.Add(current = new List<TaskToPublish>(Math.Min(max, tasks.Count)));
            current.Add(task);
        }
        return messages;
    }

    /// <summary>MassTransit's envelope around a <see cref="RunTask"/> or <see cref="RunTasks"/>, and the properties MassTransit sets.</summary>
    private static (BasicProperties, ReadOnlyMemory<byte>) Envelope(List<TaskToPublish> tasks, ArrayBufferWriter<byte> buffer)
    {
        var messageId = Guid.CreateVersion7();
        var first = tasks[0];
        // A task published later than its enqueue (delayed, swept) goes out inside the trace that enqueued it.
        var parent = first.TraceParent is { } stored && ActivityContext.TryParse(stored, null, out var context) ? context : default;
        using var activity = TasksTelemetry.Source.StartActivity("task.publish", ActivityKind.Producer, parent);
        if (activity is not null)
        {
            if (tasks.Count == 1) activity.SetTag("task.id", first.Id).SetTag("task.name", first.Name);
            else activity.SetTag("task.count", tasks.Count);
            activity.SetTag("task.queue", first.Queue).SetTag("messaging.system", "rabbitmq").SetTag("messaging.destination.name", first.Queue);
        }
        var traceParent = activity?.Id ?? first.TraceParent ?? Activity.Current?.Id;

        var start = buffer.WrittenCount;
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("messageId", messageId);
            json.WriteString("conversationId", messageId);
            json.WriteStartArray("messageType");
            json.WriteStringValue(tasks.Count == 1 ? RunTaskType : RunTasksType);
            json.WriteEndArray();
            json.WriteStartObject("message");
            if (tasks.Count == 1)
            {
                json.WriteString("taskId", first.Id);
                json.WriteString("name", first.Name);
            }
            else
            {
                json.WriteStartArray("taskIds");
                foreach (var task in tasks) json.WriteStringValue(task.Id);
                json.WriteEndArray();
            }
            json.WriteEndObject();
            json.WriteString("sentTime", DateTime.UtcNow);
            json.WriteStartObject("headers");
            json.WriteEndObject();
            json.WriteEndObject();
        }
        var properties = new BasicProperties
        {
            MessageId = messageId.ToString(),
            ContentType = EnvelopeContentType,
            DeliveryMode = DeliveryModes.Persistent,
            Headers = traceParent is null ? null : new Dictionary<string, object?> { ["MT-Activity-Id"] = traceParent },
        };
        return (properties, buffer.WrittenMemory[start..]);
    }

    private async Task<IChannel> OpenChannelAsync(CancellationToken ct)
    {
        if (_channel is { IsOpen: true } open) return open;
        await ResetAsync();
        var factory = new ConnectionFactory
        {
            Uri = settings.AmqpUri,
            ClientProvidedName = $"{environment.ApplicationName} publisher",
            AutomaticRecoveryEnabled = false, // a broken channel is replaced on the next publish, declarations and all
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        _connection = await factory.CreateConnectionAsync(ct);
        // Confirms tracked by the client, without its rate limiter: it delays publishes from half its limit on,
        // and the number in flight is bounded by the callers anyway (one batch each).
        _channel = await _connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: null), ct);
        return _channel;
    }

    private async Task ResetAsync()
    {
        _declared.Clear();
        var (channel, connection) = (_channel, _connection);
        (_channel, _connection) = (null, null);
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

    public async ValueTask DisposeAsync()
    {
        await _gate.WaitAsync();
        try
        {
            await ResetAsync();
        }
        finally
        {
            _gate.Release();
        }
    }
}
