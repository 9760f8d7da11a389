using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Tasks.Contracts.Messages;
using Tasks.Core.Hosting;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Hands committed tasks to the broker: durable, persistent messages to the queue named after the task's queue, in
/// the given order, with many in flight. Consecutive tasks of one queue share a message, up to
/// <see cref="TasksOptions.MaxTasksPerMessage"/> (<see cref="RunTasks"/>, which names each task's trace when they
/// differ); a task alone is a <see cref="RunTask"/>. Concurrent callers' tasks go out together (those that come
/// while a batch is on its way go in the next), so single enqueues under load share messages too.
/// It returns once the broker has confirmed the messages with the caller's tasks, and throws if any was refused,
/// unroutable, or cut off with the connection (the rows then stay <c>pending</c> and the relay publishes them again).
/// A refusal costs only the tasks it concerns: every new queue of a batch is declared on a channel of its own before
/// any of its messages is sent, so a queue the broker refuses (which closes that channel) fails only that queue's
/// tasks, and a returned or nacked message only its own (<see cref="PublishEachAsync"/> tells the caller which).
/// <para>
/// MassTransit can't keep the order of overlapping sends (its first send on an endpoint, and every reconnect, resume
/// waiting senders in any order), and awaiting each confirm in turn costs a broker round trip per message. So this
/// publishes on a channel of its own through RabbitMQ.Client, in MassTransit's JSON envelope, which the workers'
/// MassTransit consumers read like any other message; the trace travels in the header MassTransit reads
/// (<c>MT-Activity-Id</c>). One loop writes for every caller (in order, without waiting for each confirm), one batch
/// at a time, so concurrent callers share the broker's messages and round trips.
/// </para>
/// </summary>
public sealed class TaskPublisher : IAsyncDisposable
{
    private const string EnvelopeContentType = "application/vnd.masstransit+json";
    private static readonly JsonEncodedText RunTaskType = MessageType(nameof(RunTask));
    private static readonly JsonEncodedText RunTasksType = MessageType(nameof(RunTasks));

    private readonly RabbitSettings _settings;
    private readonly IHostEnvironment _environment;
    private readonly IOptionsMonitor<TasksOptions> _options;
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, bool> _declared = new(StringComparer.Ordinal);
    private IConnection? _connection;
    private IChannel? _channel;

    public TaskPublisher(RabbitSettings settings, IHostEnvironment environment, IOptionsMonitor<TasksOptions> options)
    {
        (_settings, _environment, _options) = (settings, environment, options);
        // Not in the first caller's trace (or any caller's): each message's span goes in its own tasks' trace.
        using (ExecutionContext.SuppressFlow()) _loop = Task.Run(LoopAsync);
    }

    private static JsonEncodedText MessageType(string name) => JsonEncodedText.Encode($"urn:message:{typeof(RunTask).Namespace}:{name}");

    public async Task PublishAsync(IReadOnlyList<TaskToPublish> tasks, CancellationToken ct)
    {
        var refused = await PublishEachAsync(tasks, ct);
        if (refused.Count > 0) throw new PublishRefusedException(refused);
    }

    /// <summary>
    /// Publishes the tasks and returns those the broker refused (see <see cref="PublishRefusal"/>); the others are
    /// confirmed. Throws when the broker couldn't be reached or didn't confirm in time: nothing can be said of any task.
    /// </summary>
    public async Task<IReadOnlyList<PublishRefusal>> PublishEachAsync(IReadOnlyList<TaskToPublish> tasks, CancellationToken ct)
    {
        if (tasks.Count == 0) return [];
        // Stamped with the caller's trace: they are written by the publishing loop, outside it.
        var trace = Activity.Current?.Id;
        var mine = new Pending(trace is null ? tasks : [.. tasks.Select(t => t.TraceParent is null ? t with { TraceParent = trace } : t)]);
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(mine), this);
        try
        {
            return await (await mine.Sent.Task.WaitAsync(ct)).WaitAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            mine.Abandoned = true; // not written if the loop hasn't come to it yet
            throw;
        }
    }

    private sealed class Pending(IReadOnlyList<TaskToPublish> tasks)
    {
        public IReadOnlyList<TaskToPublish> Tasks { get; } = tasks;

        /// <summary>Set once written: the confirms of the messages that carry these tasks, as the tasks refused.</summary>
        public TaskCompletionSource<Task<PublishRefusal[]>> Sent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public volatile bool Abandoned;
    }

    /// <summary>
    /// Group commit: takes every caller's tasks that came while the last batch was on its way, writes them in the
    /// order they came (many messages in flight), and waits for the broker's confirms, briefly, before taking the
    /// next: the busier it gets, the fuller the messages; a caller alone gets a message to itself and waits for
    /// nobody. A slow broker gets the next batches without waiting (as many in flight as callers send).
    /// </summary>
    private async Task LoopAsync()
    {
        while (await _pending.Reader.WaitToReadAsync())
        {
            var callers = new List<Pending>();
            var tasks = new List<TaskToPublish>();
            while (_pending.Reader.TryRead(out var next))
            {
                if (next.Abandoned) next.Sent.TrySetCanceled(CancellationToken.None);
                else
                {
                    callers.Add(next);
                    tasks.AddRange(next.Tasks);
                }
            }
            if (tasks.Count == 0) continue;
            CancellationTokenSource? timeout = null;
            try
            {
                var options = _options.CurrentValue; // throws on a reload that doesn't validate: these callers hear of it
                var cts = timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.PublishTimeoutSeconds));
                var confirmed = await WriteAsync(callers, tasks, options.MaxTasksPerMessage, cts.Token);
                _ = confirmed.ContinueWith(_ => cts.Dispose(), TaskScheduler.Default); // the confirms wait on its token
                await confirmed.WaitAsync(ConfirmWait).ContinueWith(static _ => { }, TaskScheduler.Default); // each caller sees its own outcome
            }
            catch (Exception e)
            {
                // Whatever went wrong, these callers hear of it (their rows stay pending), and the loop goes on.
                // The write failed: its channel was reset (failing what it had sent) or its token has already fired.
                timeout?.Dispose();
                foreach (var caller in callers) caller.Sent.TrySetException(e);
            }
        }
    }

    /// <summary>How long the loop waits for a batch's confirms before taking the next (a round trip is well under a millisecond).</summary>
    private static readonly TimeSpan ConfirmWait = TimeSpan.FromMilliseconds(5);

    /// <summary>Writes the callers' tasks; returns once all are written, with the task of all their confirms.</summary>
    private async Task<Task> WriteAsync(List<Pending> callers, List<TaskToPublish> tasks, int maxTasksPerMessage, CancellationToken ct)
    {
        var messages = Pack(tasks, maxTasksPerMessage);
        // What became of each run of tasks, in the tasks' order: a message's confirm, or a refusal.
        var sent = new List<(int Count, Task<PublishRefusal[]> Outcome)>(messages.Count);
        var body = new ArrayBufferWriter<byte>(256 + 40 * tasks.Count);
        try
        {
            var refused = await DeclareAsync(messages, ct);
            var channel = await OpenChannelAsync(ct);
            foreach (var message in messages)
            {
                if (refused?.GetValueOrDefault(message[0].Queue) is { } reason)
                {
                    sent.Add((message.Count, Task.FromResult(Refuse(message, reason))));
                    continue;
                }
                BasicProperties properties;
                ReadOnlyMemory<byte> bytes;
                try
                {
                    (properties, bytes) = Envelope(message, body);
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException)
                {
                    // A task whose name or trace can't be written (text that isn't UTF-16, say, in a row written by
                    // hand): only it is refused, the others of its message go alone.
                    foreach (var task in message)
                    {
                        try
                        {
                            (properties, bytes) = Envelope([task], body);
                            sent.Add((1, Observed(Confirmed(channel.BasicPublishAsync("", task.Queue, mandatory: true, properties, bytes, ct), [task]))));
                        }
                        catch (Exception alone) when (alone is ArgumentException or InvalidOperationException)
                        {
                            sent.Add((1, Task.FromResult(Refuse([task], $"The message could not be written: {alone.Message}"))));
                        }
                    }
                    continue;
                }
                // Sent in order; the returned task completes on the confirm.
                sent.Add((message.Count, Observed(Confirmed(channel.BasicPublishAsync("", message[0].Queue, mandatory: true, properties, bytes, ct), message))));
            }
        }
        catch (Exception e)
        {
            // Timed out on a healthy channel (a slow broker): kept for the next batch.
            if (e is not OperationCanceledException || _channel is not { IsOpen: true }) Reset();
            throw;
        }
        // Each caller's tasks are consecutive, so the runs that carry them are too.
        var runOf = new int[tasks.Count];
        for (int r = 0, k = 0; r < sent.Count; r++)
            for (var j = 0; j < sent[r].Count; j++) runOf[k++] = r;
        var start = 0;
        foreach (var caller in callers)
        {
            var (first, last) = (runOf[start], runOf[start + caller.Tasks.Count - 1]);
            caller.Sent.TrySetResult(first == last ? sent[first].Outcome : Observed(AllAsync(sent[first..(last + 1)].ConvertAll(s => s.Outcome))));
            start += caller.Tasks.Count;
        }
        return Observed(Task.WhenAll(sent.ConvertAll(s => s.Outcome)));
    }

    /// <summary>
    /// Declares the batch's queues not yet declared on this connection, before any of the batch's messages is sent,
    /// on a short-lived channel of their own: a queue the broker refuses closes the channel it was declared on, and
    /// the publishing channel carries confirms still in flight (earlier batches', other callers'), which it would
    /// fail. Returns the refused queues with the broker's reason (null when none was).
    /// </summary>
    private async Task<Dictionary<string, string>?> DeclareAsync(List<List<TaskToPublish>> messages, CancellationToken ct)
    {
        Dictionary<string, string>? refused = null;
        IChannel? declarer = null;
        try
        {
            foreach (var message in messages)
            {
                var queue = message[0].Queue;
                if (_declared.ContainsKey(queue) || refused?.ContainsKey(queue) == true) continue;
                if (declarer is null)
                {
                    await OpenChannelAsync(ct); // the connection
                    declarer = await _connection!.CreateChannelAsync(cancellationToken: ct);
                }
                try
                {
                    // The same queue the workers' receive endpoints declare (durable, no arguments), so it exists
                    // and keeps the message even before any worker has started.
                    await declarer.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: ct);
                    _declared[queue] = true;
                }
                catch (Exception e) when (e is not OperationCanceledException && _connection is { IsOpen: true })
                {
                    // The connection stands: the broker refused this queue (closing the declaring channel), or the
                    // client did (a name it can't send). Its tasks are refused; the next queue gets a new channel.
                    (refused ??= new(StringComparer.Ordinal))[queue] = e is OperationInterruptedException { ShutdownReason: { } why }
                        ? $"The broker refused queue '{queue}': {why.ReplyText}"
                        : $"Queue '{queue}' could not be declared: {e.Message}";
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

    private static PublishRefusal[] Refuse(List<TaskToPublish> tasks, string reason) => tasks.ConvertAll(t => new PublishRefusal(t, reason)).ToArray();

    /// <summary>A message's confirm as the tasks refused: none once confirmed, all of them when returned or nacked.</summary>
    private async Task<PublishRefusal[]> Confirmed(ValueTask confirm, List<TaskToPublish> message)
    {
        try
        {
            await confirm;
            return [];
        }
        catch (PublishException e)
        {
            // What is refused is the message, so all its tasks: they share its queue, and it names nothing else of them.
            var queue = message[0].Queue;
            if (e is PublishReturnException returned)
            {
                _declared.TryRemove(queue, out _); // deleted meanwhile: declared again by the next batch
                return Refuse(message, $"The broker returned the message for queue '{queue}': {returned.ReplyCode} {returned.ReplyText}");
            }
            // A nack is the broker's state (a full queue with reject-publish, an internal error), not the tasks':
            // they wait and go again, uncharged.
            return [.. message.ConvertAll(t => new PublishRefusal(t, $"The broker did not take the message for queue '{queue}' (nack: a full queue?)", Charged: false))];
        }
    }

    private static async Task<PublishRefusal[]> AllAsync(List<Task<PublishRefusal[]>> outcomes) =>
        (await Task.WhenAll(outcomes)).SelectMany(r => r).ToArray();

    /// <summary>A confirm whose caller may have stopped waiting: its failure is theirs to hear, never unobserved.</summary>
    private static T Observed<T>(T task) where T : Task
    {
        _ = task.ContinueWith(static t => _ = t.Exception, CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return task;
    }

    /// <summary>
    /// Runs of consecutive tasks of one queue, every task once per message (a task given twice goes out in two
    /// messages, as asked), traced and untraced tasks apart (an untraced one must not run in another's trace); the
    /// order kept. A queue's messages carry <see cref="TasksPerMessage"/> tasks each, more when there are so many
    /// that it still gets <see cref="MessagesPerQueue"/> messages, and never more than <paramref name="max"/>: a
    /// bulk load costs the broker less per task, and a few hundred tasks still spread over several workers.
    /// </summary>
    internal static List<List<TaskToPublish>> Pack(IReadOnlyList<TaskToPublish> tasks, int max)
    {
        var perQueue = tasks.CountBy(t => t.Queue, StringComparer.Ordinal).ToDictionary(
            q => q.Key, q => Math.Clamp((q.Value + MessagesPerQueue - 1) / MessagesPerQueue, Math.Min(TasksPerMessage, max), max), StringComparer.Ordinal);

        var messages = new List<List<TaskToPublish>>();
        List<TaskToPublish>? current = null;
        foreach (var task in tasks)
        {
            if (current is null || current.Count >= perQueue[task.Queue] || current[0].Queue != task.Queue || current.Exists(t => t.Id == task.Id)
                || (current[0].TraceParent is null) != (task.TraceParent is null))
                messages.Add(current = new List<TaskToPublish>(Math.Min(perQueue[task.Queue], tasks.Count)));
            current.Add(task);
        }
        return messages;
    }

    /// <summary>How many tasks of a queue share a message when there are few of them.</summary>
    internal const int TasksPerMessage = 10;

    /// <summary>How many messages a queue's tasks of one batch are spread over at least, once there are enough of them.</summary>
    internal const int MessagesPerQueue = 10;

    /// <summary>MassTransit's envelope around a <see cref="RunTask"/> or <see cref="RunTasks"/>, and the properties MassTransit sets.</summary>
    private static (BasicProperties, ReadOnlyMemory<byte>) Envelope(List<TaskToPublish> tasks, ArrayBufferWriter<byte> buffer)
    {
        var messageId = Guid.CreateVersion7();
        var first = tasks[0];
        // A task published later than its enqueue (delayed, swept) goes out inside the trace that enqueued it.
        var parent = first.TraceParent is { } stored && ActivityContext.TryParse(stored, null, isRemote: true, out var context) ? context : default;
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
                if (tasks.Exists(t => t.TraceParent != first.TraceParent))
                {
                    // Tasks of several callers (traces): each runs in its own.
                    json.WriteStartArray("traceParents");
                    foreach (var task in tasks) json.WriteStringValue(task.TraceParent);
                    json.WriteEndArray();
                }
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
        if (_connection is { IsOpen: true } connection)
        {
            // Only the channel was closed (the broker refused something sent on it): the connection and its declarations stand.
            if (_channel is not null) _ = CloseAsync(_channel, null);
            return _channel = await CreateChannelAsync(connection, ct);
        }
        Reset();
        var factory = new ConnectionFactory
        {
            Uri = _settings.AmqpUri,
            ClientProvidedName = $"{_environment.ApplicationName} publisher",
            AutomaticRecoveryEnabled = false, // a broken channel is replaced on the next publish, declarations and all
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        _connection = await factory.CreateConnectionAsync(ct);
        return _channel = await CreateChannelAsync(_connection, ct);
    }

    // Confirms tracked by the client, without its rate limiter: it delays publishes from half its limit on, and the
    // number in flight is bounded by the callers anyway.
    private static Task<IChannel> CreateChannelAsync(IConnection connection, CancellationToken ct) =>
        connection.CreateChannelAsync(new CreateChannelOptions(
            publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: null), ct);

    /// <summary>Drops the channel and connection; the next batch opens new ones. Closed in the background: a broker that stopped answering must not hold up the loop.</summary>
    private void Reset()
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

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete(); // what is queued is still written
        try
        {
            await _loop;
        }
        finally
        {
            await CloseAsync(_channel, _connection);
        }
    }
}
