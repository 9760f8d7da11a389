using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tasks.Contracts.Messages;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// A MassTransit bus on a vhost of its own that sends our <see cref="RunTask"/> to itself, consumed by an empty
/// consumer at the worker's prefetch and message limit: what the bus alone moves (scenario 2), and, between
/// scenario 3's runs, the same again right before each, so a ratio isn't skewed by the box's speed moving between
/// the two (docs/design.md#fourth-session-the-boxs-speed-and-the-one-message-budget).
/// </summary>
public sealed class BusProbe : IAsyncDisposable
{
    public const int InFlight = 1000;

    private readonly BenchContext _ctx;
    private readonly string _vhost;
    private readonly ServiceProvider _provider;
    private readonly IBusControl _bus;
    private readonly Counter _counter = new();
    private ISendEndpoint _endpoint = null!;

    private BusProbe(BenchContext ctx, string vhost, Uri rabbit)
    {
        (_ctx, _vhost) = (ctx, vhost);
        var services = new ServiceCollection();
        services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton(_counter);
        services.AddMassTransit(x =>
        {
            x.AddConsumer<EmptyConsumer>();
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(rabbit);
                cfg.ReceiveEndpoint("bench-bus", e =>
                {
                    e.ConfigureConsumeTopology = false;
                    e.PrefetchCount = BenchSettings.WorkerPrefetch;
                    e.ConcurrentMessageLimit = BenchSettings.WorkerMessageLimit;
                    e.ConfigureConsumer<EmptyConsumer>(context);
                });
            });
        });
        _provider = services.BuildServiceProvider();
        _bus = _provider.GetRequiredService<IBusControl>();
    }

    /// <summary>Started and warmed up as long as the worker is in scenario 3, until tiered JIT has settled.</summary>
    public static async Task<BusProbe> StartAsync(BenchContext ctx, string vhost)
    {
        var iso = await ctx.Servers.CreateIsolatedAsync(vhost);
        var probe = new BusProbe(ctx, iso.Name, iso.Rabbit);
        try
        {
            await probe._bus.StartAsync();
            probe._endpoint = await probe._bus.GetSendEndpoint(new Uri("queue:bench-bus"));
            var warm = DateTime.UtcNow.AddSeconds(ctx.Settings.Quick ? 5 : 30);
            while (DateTime.UtcNow < warm) await probe.OnceAsync(Math.Min(5_000, ctx.Settings.BusMessages));
            return probe;
        }
        catch
        {
            await probe.DisposeAsync();
            throw;
        }
    }

    /// <summary>The envelope's size as the consumer received it.</summary>
    public long BodyBytes => _counter.BodyBytes;

    /// <summary>Sends <paramref name="count"/> messages, <paramref name="inFlight"/> at a time; messages a second until the last is consumed.</summary>
    public async Task<double> OnceAsync(int count, int inFlight = InFlight)
    {
        _counter.Reset(count);
        var started = Stopwatch.StartNew();
        var window = new Queue<Task>(inFlight);
        for (var i = 0; i < count; i++)
        {
            if (window.Count == inFlight) await window.Dequeue();
            window.Enqueue(_endpoint.Send(new RunTask(Guid.CreateVersion7(), "demo.echo")));
        }
        await Task.WhenAll(window);
        await _counter.Done.WaitAsync(TimeSpan.FromMinutes(5));
        return count / started.Elapsed.TotalSeconds;
    }

    public async ValueTask DisposeAsync()
    {
        await _bus.StopAsync();
        await _provider.DisposeAsync();
        await _ctx.Servers.DropIsolatedAsync(_vhost);
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
