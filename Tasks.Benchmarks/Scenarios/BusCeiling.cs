using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tasks.Benchmarks.Infrastructure;
using Tasks.Contracts.Messages;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 2. What MassTransit moves on top of that broker: our own <see cref="RunTask"/> message sent with many sends in
/// flight, consumed by an empty consumer with the worker's default prefetch and concurrency.
/// </summary>
public static class BusCeiling
{
    private const int InFlight = 1000;

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var result = new ScenarioResult("bus", "2. Bus ceiling (MassTransit, empty consumer)");
        result.Settings["messages"] = ctx.Settings.BusMessages;
        result.Settings["sendsInFlight"] = InFlight;
        result.Settings["prefetch"] = BenchSettings.WorkerPrefetch;
        result.Settings["concurrentMessageLimit"] = BenchSettings.WorkerMessageLimit;
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_bus");
        try
        {
            var counter = new Counter();
            var services = new ServiceCollection();
            services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
            services.AddSingleton(counter);
            services.AddMassTransit(x =>
            {
                x.AddConsumer<EmptyConsumer>();
                x.UsingRabbitMq((context, cfg) =>
                {
                    cfg.Host(iso.Rabbit);
                    cfg.ReceiveEndpoint("bench-bus", e =>
                    {
                        e.ConfigureConsumeTopology = false;
                        e.PrefetchCount = BenchSettings.WorkerPrefetch;
                        e.ConcurrentMessageLimit = BenchSettings.WorkerMessageLimit;
                        e.ConfigureConsumer<EmptyConsumer>(context);
                    });
                });
            });
            await using var provider = services.BuildServiceProvider();
            var bus = provider.GetRequiredService<IBusControl>();
            await bus.StartAsync();
            try
            {
                var endpoint = await bus.GetSendEndpoint(new Uri("queue:bench-bus"));
                // Warmed up as long as the worker is in scenario 3, until tiered JIT has settled: the ceiling is what a
                // process that has been up for a while can do.
                var warm = DateTime.UtcNow.AddSeconds(ctx.Settings.Quick ? 10 : 30);
                while (DateTime.UtcNow < warm) await OnceAsync(endpoint, counter, Math.Min(5_000, ctx.Settings.BusMessages));
                var runs = new List<double>();
                var cpu = new Dictionary<string, List<double>>();
                for (var i = 0; i < ctx.Settings.Runs; i++)
                {
                    var before = CpuTime.Now([]);
                    runs.Add(await OnceAsync(endpoint, counter, ctx.Settings.BusMessages));
                    var perMessage = CpuTime.PerTask(before, CpuTime.Now([]), ctx.Settings.BusMessages, self: "bus (sender and consumer)");
                    perMessage.Remove("worker");
                    perMessage.Remove("postgres");
                    foreach (var (process, us) in perMessage) (cpu.TryGetValue(process, out var l) ? l : cpu[process] = []).Add(us);
                    BenchContext.Log($"bus run {i + 1}: {runs[^1]:0} msg/s, CPU µs per message: {string.Join(", ", perMessage.Select(p => $"{p.Key} {p.Value:0}"))}");
                }
                result.Figures.Add(Figure.Of("throughput", "msg/s", runs));
                foreach (var (process, us) in cpu) result.Figures.Add(Figure.Of($"CPU per message: {process}", "µs", us));
                // Scenario 3's enqueuers outpace its worker, so its queue grows, and RabbitMQ spends more per message
                // on a queue that holds messages (written to disk and read back) than on one its consumer keeps empty.
                // The same bus, every send in flight at once: what a backlog costs the broker.
                var backlog = new List<double>();
                var backlogCpu = new List<double>();
                for (var i = 0; i < ctx.Settings.Runs; i++)
                {
                    var before = CpuTime.Now([]);
                    backlog.Add(await OnceAsync(endpoint, counter, ctx.Settings.BusMessages, inFlight: ctx.Settings.BusMessages));
                    backlogCpu.Add(CpuTime.PerTask(before, CpuTime.Now([]), ctx.Settings.BusMessages)["rabbitmq"]);
                    BenchContext.Log($"bus with a backlog, run {i + 1}: {backlog[^1]:0} msg/s, RabbitMQ CPU {backlogCpu[^1]:0} µs per message");
                }
                result.Figures.Add(Figure.Of("with a backlog (every send in flight at once)", "msg/s", backlog));
                result.Figures.Add(Figure.Of("with a backlog: CPU per message: rabbitmq", "µs", backlogCpu));
                result.Settings["envelopeBytes"] = counter.BodyBytes;
            }
            finally
            {
                await bus.StopAsync();
            }
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    private static async Task<double> OnceAsync(ISendEndpoint endpoint, Counter counter, int count, int inFlight = InFlight)
    {
        counter.Reset(count);
        var started = Stopwatch.StartNew();
        var window = new Queue<Task>(inFlight);
        for (var i = 0; i < count; i++)
        {
            if (window.Count == inFlight) await window.Dequeue();
            window.Enqueue(endpoint.Send(new RunTask(Guid.CreateVersion7(), "demo.echo")));
        }
        await Task.WhenAll(window);
        await counter.Done.WaitAsync(TimeSpan.FromMinutes(5));
        return count / started.Elapsed.TotalSeconds;
    }

    public sealed class Counter
    {
        private int _left;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long BodyBytes { get; set; }
        public Task Done => _done.Task;

        public void Reset(int count)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _left, count);
        }

        public void Consumed()
        {
            if (Interlocked.Decrement(ref _left) == 0) _done.TrySetResult();
        }
    }

    public sealed class EmptyConsumer(Counter counter) : IConsumer<RunTask>
    {
        public Task Consume(ConsumeContext<RunTask> context)
        {
            if (counter.BodyBytes == 0) counter.BodyBytes = context.ReceiveContext.Body.Length ?? 0;
            counter.Consumed();
            return Task.CompletedTask;
        }
    }
}
