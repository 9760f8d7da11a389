using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MassTransit;
using MassTransit.Context;
using MassTransit.Serialization;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using Tasks.Contracts.Messages;
using Tasks.Core.Enqueueing;
using Tasks.Core.Hosting;
using Tasks.Core.Lifecycle;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// <see cref="TaskPublisher"/> writes MassTransit's envelope itself. These hold it to MassTransit's own serializer
/// and to a real MassTransit bus, so an upgrade that changes the envelope fails here rather than in the workers.
/// </summary>
public sealed class PublisherEnvelopeTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
{
    private static readonly SystemTextJsonMessageSerializer Serializer = new();

    // What MassTransit adds that a worker doesn't need (where the sender runs, and its address).
    private static readonly string[] LeftOut = ["host", "sourceAddress", "destinationAddress"];

    [Fact]
    public async Task The_envelope_is_what_MassTransit_s_serializer_writes_and_reads_for_the_same_message()
    {
        var queue = "envelope-" + Guid.NewGuid().ToString("N")[..8];
        var ct = TestContext.Current.CancellationToken;
        var sent = await PublishAsync(queue, ct);
        var received = await ReadAsync(queue, sent.Count, ct);

        for (var i = 0; i < sent.Count; i++)
        {
            var ((message, traceId), (properties, body)) = (sent[i], received[i]);
            Assert.Equal(Serializer.ContentType.MediaType, properties.ContentType);
            Assert.Equal(DeliveryModes.Persistent, properties.DeliveryMode);
            // The header MassTransit continues the trace from, in the trace of the message's (first) task.
            Assert.Equal(traceId, TraceOf(properties));

            // MassTransit reads our bytes as the message we meant, with the ids the transport carries.
            var read = Serializer.Deserialize(new BytesMessageBody(body), new DictionarySendHeaders(), null);
            Assert.Equal(Guid.Parse(properties.MessageId!), read.MessageId);
            Assert.Equal(read.MessageId, read.ConversationId);
            Assert.NotNull(read.SentTime);
            Assert.Equal(Urns(message), read.SupportedMessageTypes);
            Assert.True(Read(read, message, out var back));
            Assert.Equal(Json(message), Json(back));

            // And MassTransit, given the same message and ids, writes the same envelope (but for what we leave out),
            // its time written the same way: UTC, ISO 8601.
            var ours = JsonNode.Parse(body)!.AsObject();
            var theirs = TheirEnvelope(message, read);
            Assert.Equal(Kind(theirs), Kind(ours));
            foreach (var name in LeftOut.Append("sentTime")) theirs.Remove(name);
            ours.Remove("sentTime");
            DropNulls(theirs); // read as absent: the publisher leaves them out
            Assert.True(JsonNode.DeepEquals(theirs, ours), $"MassTransit writes\n{theirs}\nthe publisher wrote\n{ours}");
        }
    }

    [Fact]
    public async Task A_MassTransit_consumer_gets_every_field_of_the_published_envelope()
    {
        var queue = "envelope-bus-" + Guid.NewGuid().ToString("N")[..8];
        var ct = TestContext.Current.CancellationToken;
        var consumed = new List<(ConsumeContext Context, object Message, string? TraceId)>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var expected = 3;
        Task Seen(ConsumeContext context, object message)
        {
            lock (consumed)
            {
                consumed.Add((context, message, Activity.Current?.TraceId.ToString()));
                if (consumed.Count == expected) all.TrySetResult();
            }
            return Task.CompletedTask;
        }
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(stack.Rabbit);
            cfg.ReceiveEndpoint(queue, e =>
            {
                e.ConfigureConsumeTopology = false;
                e.Handler<RunTask>(c => Seen(c, c.Message));
                e.Handler<RunTasks>(c => Seen(c, c.Message));
            });
        });
        using var listener = ListenToMassTransit();
        await bus.StartAsync(ct);
        try
        {
            var sent = await PublishAsync(queue, ct);
            Assert.Equal(expected, sent.Count);
            await all.Task.WaitAsync(TimeSpan.FromSeconds(30), ct);

            for (var i = 0; i < sent.Count; i++)
            {
                var (message, traceId) = sent[i];
                var (context, _, consumeTrace) = Assert.Single(consumed, c => Json(c.Message) == Json(message));
                Assert.NotNull(context.MessageId);
                Assert.Equal(context.MessageId, context.ConversationId);
                Assert.NotNull(context.SentTime);
                Assert.Equal(Serializer.ContentType.MediaType, context.ReceiveContext.ContentType?.MediaType);
                Assert.Equal(traceId, consumeTrace); // the consume span is in the trace the task was enqueued in
            }
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>One task alone (RunTask), three of one trace (RunTasks), two of two traces (RunTasks with each trace).</summary>
    private async Task<List<(object Message, string TraceId)>> PublishAsync(string queue, CancellationToken ct)
    {
        var publisher = stack.Web.Services.GetRequiredService<TaskPublisher>();
        TaskToPublish In(string trace) => new(Guid.CreateVersion7(), "demo.echo", queue, trace);
        var (t1, t2) = ("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        TaskToPublish[][] batches = [[In(t1)], [In(t1), In(t1), In(t1)], [In(t1), In(t2)]];
        var sent = new List<(object, string)>();
        foreach (var batch in batches)
        {
            await publisher.PublishAsync(batch, ct); // one message each: a batch waits for the one before
            object message = batch.Length == 1
                ? new RunTask(batch[0].Id, batch[0].Name)
                : new RunTasks([.. batch.Select(t => t.Id)], batch.DistinctBy(t => t.TraceParent).Count() == 1 ? null : [.. batch.Select(t => t.TraceParent)]);
            sent.Add((message, ActivityContext.Parse(batch[0].TraceParent!, null).TraceId.ToString()));
        }
        return sent;
    }

    private async Task<List<(IReadOnlyBasicProperties Properties, byte[] Body)>> ReadAsync(string queue, int count, CancellationToken ct)
    {
        var factory = new ConnectionFactory { Uri = stack.Web.Services.GetRequiredService<RabbitSettings>().AmqpUri };
        await using var connection = await factory.CreateConnectionAsync(ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        var messages = new List<(IReadOnlyBasicProperties, byte[])>();
        while (messages.Count < count)
        {
            var got = await channel.BasicGetAsync(queue, autoAck: true, ct);
            Assert.NotNull(got);
            messages.Add((got.BasicProperties, got.Body.ToArray()));
        }
        await channel.QueueDeleteAsync(queue, cancellationToken: ct);
        return messages;
    }

    /// <summary>The envelope MassTransit's serializer writes for <paramref name="message"/>, with the ids MassTransit read from ours.</summary>
    private static JsonObject TheirEnvelope(object message, SerializerContext read)
    {
        MessageBody body = message switch
        {
            RunTask one => Serializer.GetMessageBody(Context(new MessageSendContext<RunTask>(one), read)),
            RunTasks several => Serializer.GetMessageBody(Context(new MessageSendContext<RunTasks>(several), read)),
            _ => throw new ArgumentOutOfRangeException(nameof(message)),
        };
        return JsonNode.Parse(body.GetBytes())!.AsObject();
    }

    private static MessageSendContext<T> Context<T>(MessageSendContext<T> context, SerializerContext read) where T : class
    {
        (context.MessageId, context.ConversationId) = (read.MessageId, read.ConversationId);
        return context;
    }

    private static void DropNulls(JsonObject json)
    {
        foreach (var (name, value) in json.ToList())
        {
            if (value is null) json.Remove(name);
            else if (value is JsonObject inner) DropNulls(inner);
        }
    }

    private static DateTimeKind Kind(JsonObject envelope) =>
        DateTime.Parse(envelope["sentTime"]!.GetValue<string>(), null, System.Globalization.DateTimeStyles.RoundtripKind).Kind;

    private static string[] Urns(object message) => message switch
    {
        RunTask => [MessageUrn.ForTypeString<RunTask>()],
        _ => [MessageUrn.ForTypeString<RunTasks>()],
    };

    private static bool Read(SerializerContext read, object message, out object? back)
    {
        (var ok, back) = message switch
        {
            RunTask => (read.TryGetMessage<RunTask>(out var one), (object?)one),
            _ => (read.TryGetMessage<RunTasks>(out var several), several),
        };
        return ok;
    }

    private static string Json(object? message) => JsonSerializer.Serialize(message, SystemTextJsonMessageSerializer.Options);

    private static string? TraceOf(IReadOnlyBasicProperties properties) =>
        properties.Headers?.TryGetValue(MassTransit.Logging.DiagnosticHeaders.ActivityId, out var id) == true && id is byte[] bytes
            ? ActivityContext.Parse(System.Text.Encoding.UTF8.GetString(bytes), null).TraceId.ToString()
            : null;

    /// <summary>MassTransit starts its consume span only when someone listens to its source.</summary>
    private static ActivityListener ListenToMassTransit()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "MassTransit",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
