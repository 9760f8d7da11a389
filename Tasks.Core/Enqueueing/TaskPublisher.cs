using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Tasks.Core.Hosting;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Hands committed tasks to the broker in order, many in flight, concurrent callers' tasks together and those of a
/// queue sharing messages (<see cref="MessagePacking"/>), in MassTransit's envelope on a channel of its own
/// (<see cref="RunTaskEnvelope"/>). Returns once the caller's messages are confirmed, with the tasks refused.
/// See docs/design.md#the-task-publisher-one-loop-its-own-channel-issue-24
/// </summary>
public sealed class TaskPublisher : IAsyncDisposable
{
    private readonly IOptionsMonitor<TasksOptions> _options;
    private readonly PublisherConnection _connection;
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    /// <summary>How long the loop waits for a batch's confirms before taking the next (a round trip is well under a millisecond).</summary>
    private static readonly TimeSpan ConfirmWait = TimeSpan.FromMilliseconds(5);

    /// <summary>The confirms of the last batch written: the next one waits for them only while these are still out.</summary>
    private Task _lastConfirmed = Task.CompletedTask;

    public TaskPublisher(RabbitSettings settings, IHostEnvironment environment, IOptionsMonitor<TasksOptions> options)
    {
        _options = options;
        _connection = new PublisherConnection(settings, environment);
        // Not in the first caller's trace (or any caller's): each message's span goes in its own tasks' trace.
        using (ExecutionContext.SuppressFlow()) _loop = Task.Run(LoopAsync);
    }

    internal const int TasksPerMessage = MessagePacking.TasksPerMessage;
    internal const int MessagesPerQueue = MessagePacking.MessagesPerQueue;

    internal static List<List<TaskToPublish>> Pack(IReadOnlyList<TaskToPublish> tasks, int max) => MessagePacking.Pack(tasks, max);

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
    /// Group commit: takes every caller's tasks that came while the last batch was on its way, writes them in order
    /// (many messages in flight), and, when the batch filled a message, waits for its confirms briefly before taking
    /// the next: the busier it gets, the fuller the messages; a caller alone, or a trickle, waits for nobody.
    /// </summary>
    private async Task LoopAsync()
    {
        while (await _pending.Reader.WaitToReadAsync())
        {
            var callers = new List<Pending>();
            while (_pending.Reader.TryRead(out var next))
            {
                if (next.Abandoned) next.Sent.TrySetCanceled(CancellationToken.None);
                else callers.Add(next);
            }
            if (callers.Count > 0) await WriteBatchAsync(callers);
        }
    }

    private async Task WriteBatchAsync(List<Pending> callers)
    {
        CancellationTokenSource? timeout = null;
        try
        {
            var options = _options.CurrentValue; // throws on a reload that doesn't validate: these callers hear of it
            var cts = timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.PublishTimeoutSeconds));
            var previous = _lastConfirmed;
            var confirmed = _lastConfirmed = await WriteAsync(callers, options.MaxTasksPerMessage, cts.Token);
            _ = confirmed.ContinueWith(_ => cts.Dispose(), TaskScheduler.Default); // the confirms wait on its token
            // Idle (the batch before is confirmed) or a trickle (this batch didn't fill a message): the next caller's
            // tasks go at once. Busy: they gather while this batch's confirms come, into fuller messages and fewer
            // writes. docs/design.md#seventh-session-the-publishers-wait-only-for-full-batches
            if (!previous.IsCompleted && callers.Sum(c => c.Tasks.Count) >= MessagePacking.TasksPerMessage)
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

    /// <summary>Writes the callers' tasks; returns once all are written, with the task of all their confirms.</summary>
    private async Task<Task> WriteAsync(List<Pending> callers, int maxTasksPerMessage, CancellationToken ct)
    {
        var tasks = callers.SelectMany(c => c.Tasks).ToList();
        var messages = MessagePacking.Pack(tasks, maxTasksPerMessage);
        List<(int Count, Task<PublishRefusal[]> Outcome)> sent;
        try
        {
            var refused = await _connection.DeclareAsync(messages.Select(m => m[0].Queue), ct);
            var channel = await _connection.OpenChannelAsync(ct);
            sent = SendAll(channel, messages, refused, new ArrayBufferWriter<byte>(256 + 40 * tasks.Count), ct);
        }
        catch (Exception e)
        {
            // Timed out on a healthy channel (a slow broker): kept for the next batch.
            if (e is not OperationCanceledException || !_connection.ChannelIsOpen) _connection.Reset();
            throw;
        }
        HandOut(callers, sent);
        return Observed(Task.WhenAll(sent.ConvertAll(s => s.Outcome)));
    }

    /// <summary>Sends the messages in order; what became of each run of tasks: a message's confirm, or a refusal.</summary>
    private List<(int Count, Task<PublishRefusal[]> Outcome)> SendAll(
        IChannel channel, List<List<TaskToPublish>> messages, Dictionary<string, string>? refusedQueues, ArrayBufferWriter<byte> body, CancellationToken ct)
    {
        var sent = new List<(int Count, Task<PublishRefusal[]> Outcome)>(messages.Count);
        foreach (var message in messages)
        {
            if (refusedQueues?.GetValueOrDefault(message[0].Queue) is { } reason)
                sent.Add((message.Count, Task.FromResult(Refuse(message, reason))));
            else if (TryWrite(message, body, out var written, out _))
                sent.Add((message.Count, Send(channel, message, written, ct)));
            else
            {
                // A task whose name or trace can't be written (text that isn't UTF-16, in a row written by hand):
                // only it is refused, the others of its message go alone.
                foreach (var task in message)
                    sent.Add((1, TryWrite([task], body, out var alone, out var error)
                        ? Send(channel, [task], alone, ct)
                        : Task.FromResult(Refuse([task], $"The message could not be written: {error}"))));
            }
        }
        return sent;
    }

    private static bool TryWrite(
        List<TaskToPublish> message, ArrayBufferWriter<byte> body, out (BasicProperties, ReadOnlyMemory<byte>) written, out string? error)
    {
        try
        {
            (written, error) = (RunTaskEnvelope.Write(message, body), null);
            return true;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            (written, error) = (default, e.Message);
            return false;
        }
    }

    // Sent in order; the returned task completes on the confirm.
    private Task<PublishRefusal[]> Send(IChannel channel, List<TaskToPublish> message, (BasicProperties, ReadOnlyMemory<byte>) written, CancellationToken ct) =>
        Observed(Confirmed(channel.BasicPublishAsync("", message[0].Queue, mandatory: true, written.Item1, written.Item2, ct), message));

    /// <summary>Each caller's tasks are consecutive, so the runs that carry them are too: each gets the outcome of its runs.</summary>
    private static void HandOut(List<Pending> callers, List<(int Count, Task<PublishRefusal[]> Outcome)> sent)
    {
        var runOf = new int[sent.Sum(s => s.Count)];
        for (int r = 0, k = 0; r < sent.Count; r++)
            for (var j = 0; j < sent[r].Count; j++) runOf[k++] = r;
        var start = 0;
        foreach (var caller in callers)
        {
            var (first, last) = (runOf[start], runOf[start + caller.Tasks.Count - 1]);
            caller.Sent.TrySetResult(first == last ? sent[first].Outcome : Observed(AllAsync(sent[first..(last + 1)].ConvertAll(s => s.Outcome))));
            start += caller.Tasks.Count;
        }
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
                _connection.Forget(queue);
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

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete(); // what is queued is still written
        try
        {
            await _loop;
        }
        finally
        {
            await _connection.DisposeAsync();
        }
    }
}
