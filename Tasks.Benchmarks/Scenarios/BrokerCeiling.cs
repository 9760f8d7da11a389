using System.Diagnostics;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Tasks.Benchmarks.Infrastructure;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 1. What RabbitMQ itself moves on this box: a bare RabbitMQ.Client 7 publisher (durable queue, persistent
/// messages, publisher confirms, many in flight) and a consumer (manual acks, prefetch) on its own connection,
/// messages the size of our RunTask envelopes. Messages/s from the first publish to the last ack; and the same
/// publisher with no consumer, to the last confirm.
/// </summary>
public static class BrokerCeiling
{
    /// <summary>About the size of a MassTransit RunTask envelope (the bus scenario reports the real one).</summary>
    public const int PayloadBytes = 1100;
    private const int InFlight = 1000;
    private const ushort Prefetch = 500;

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var result = new ScenarioResult("broker", "1. Broker ceiling (RabbitMQ.Client 7)");
        result.Settings["messages"] = ctx.Settings.BrokerMessages;
        result.Settings["payloadBytes"] = PayloadBytes;
        result.Settings["publishesInFlight"] = InFlight;
        result.Settings["prefetch"] = (int)Prefetch;
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_broker");
        try
        {
            await OnceAsync(iso.Rabbit, Math.Min(5_000, ctx.Settings.BrokerMessages)); // warm-up
            var runs = new List<double>();
            var rabbitCpu = new List<double>();
            for (var i = 0; i < ctx.Settings.Runs; i++)
            {
                var before = CpuTime.Now([]);
                runs.Add(await OnceAsync(iso.Rabbit, ctx.Settings.BrokerMessages));
                rabbitCpu.Add(CpuTime.PerTask(before, CpuTime.Now([]), ctx.Settings.BrokerMessages)["rabbitmq"]);
                BenchContext.Log($"broker run {i + 1}: {runs[^1]:0} msg/s, RabbitMQ CPU {rabbitCpu[^1]:0} µs per message");
            }
            result.Figures.Add(Figure.Of("throughput", "msg/s", runs));
            result.Figures.Add(Figure.Of("CPU per message: rabbitmq", "µs", rabbitCpu));
            // The most any enqueue path can reach on this box (HTTP batched included): the broker taking persistent
            // messages with nothing else running, not even a consumer.
            var publishOnly = new List<double>();
            for (var i = 0; i < ctx.Settings.Runs; i++)
            {
                publishOnly.Add(await OnceAsync(iso.Rabbit, ctx.Settings.BrokerMessages, consume: false));
                BenchContext.Log($"broker publish-only run {i + 1}: {publishOnly[^1]:0} msg/s");
            }
            result.Figures.Add(Figure.Of("publish only (no consumer), confirmed", "msg/s", publishOnly));
            result.Figures.Add(Figure.One("publish→confirm, one at a time", "ms", await ConfirmLatencyAsync(iso.Rabbit)));
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    /// <summary>Median time a single persistent publish waits for its confirm: what awaiting each confirm costs.</summary>
    private static async Task<double> ConfirmLatencyAsync(Uri rabbit)
    {
        var factory = new ConnectionFactory { Uri = rabbit };
        await using var connection = await factory.CreateConnectionAsync("bench-confirm");
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(true, true));
        const string queue = "bench-confirm";
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        var body = new byte[PayloadBytes];
        var properties = new BasicProperties { Persistent = true };
        var times = new List<double>();
        for (var i = 0; i < 300; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await channel.BasicPublishAsync("", queue, mandatory: false, properties, body);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        await channel.QueueDeleteAsync(queue);
        return Stats.Percentile(times, 50);
    }

    private static async Task<double> OnceAsync(Uri rabbit, int count, bool consume = true)
    {
        var factory = new ConnectionFactory { Uri = rabbit };
        await using var publisherConnection = await factory.CreateConnectionAsync("bench-publisher");
        await using var consumerConnection = await factory.CreateConnectionAsync("bench-consumer");
        // RabbitMQ.Client 7 tracks outstanding confirms with a ThrottlingRateLimiter that starts *delaying* publishes
        // at half its limit (1,000 ms per publish at the top). Give it twice our window so it never throttles;
        // our own window is what bounds the publishes in flight.
        var options = new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: new ThrottlingRateLimiter(InFlight * 2));
        await using var publisher = await publisherConnection.CreateChannelAsync(options);
        await using var consumer = await consumerConnection.CreateChannelAsync();

        const string queue = "bench-broker";
        await consumer.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        await consumer.QueuePurgeAsync(queue);
        await consumer.BasicQosAsync(0, Prefetch, global: false);

        var received = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new AsyncEventingBasicConsumer(consumer);
        handler.ReceivedAsync += async (_, delivery) =>
        {
            await consumer.BasicAckAsync(delivery.DeliveryTag, multiple: false);
            if (Interlocked.Increment(ref received) == count) done.TrySetResult();
        };
        var tag = consume ? await consumer.BasicConsumeAsync(queue, autoAck: false, handler) : null;

        var body = new byte[PayloadBytes];
        Random.Shared.NextBytes(body);
        var properties = new BasicProperties { Persistent = true, ContentType = "application/vnd.masstransit+json" };
        var started = Stopwatch.StartNew();
        var window = new Queue<Task>(InFlight);
        for (var i = 0; i < count; i++)
        {
            if (window.Count == InFlight) await window.Dequeue();
            window.Enqueue(publisher.BasicPublishAsync("", queue, mandatory: false, properties, body).AsTask());
        }
        await Task.WhenAll(window);
        if (tag is not null) await done.Task.WaitAsync(TimeSpan.FromMinutes(5));
        var seconds = started.Elapsed.TotalSeconds;
        if (tag is not null) await consumer.BasicCancelAsync(tag);
        await consumer.QueueDeleteAsync(queue);
        return count / seconds;
    }
}
