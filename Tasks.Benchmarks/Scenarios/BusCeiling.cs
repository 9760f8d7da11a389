using Tasks.Benchmarks.Infrastructure;
using Tasks.Contracts.Messages;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 2. What MassTransit moves on top of that broker: our own <see cref="RunTask"/> message sent with many sends in
/// flight, consumed by an empty consumer with the worker's default prefetch and concurrency (<see cref="BusProbe"/>).
/// </summary>
public static class BusCeiling
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var result = new ScenarioResult("bus", "2. Bus ceiling (MassTransit, empty consumer)");
        result.Settings["messages"] = ctx.Settings.BusMessages;
        result.Settings["sendsInFlight"] = BusProbe.InFlight;
        result.Settings["prefetch"] = BenchSettings.WorkerPrefetch;
        result.Settings["concurrentMessageLimit"] = BenchSettings.WorkerMessageLimit;
        await using var probe = await BusProbe.StartAsync(ctx, "bench_bus");
        var runs = new List<double>();
        var cpu = new Dictionary<string, List<double>>();
        for (var i = 0; i < ctx.Settings.Runs; i++)
        {
            var before = CpuTime.Now([]);
            runs.Add(await probe.OnceAsync(ctx.Settings.BusMessages));
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
            backlog.Add(await probe.OnceAsync(ctx.Settings.BusMessages, inFlight: ctx.Settings.BusMessages));
            backlogCpu.Add(CpuTime.PerTask(before, CpuTime.Now([]), ctx.Settings.BusMessages)["rabbitmq"]);
            BenchContext.Log($"bus with a backlog, run {i + 1}: {backlog[^1]:0} msg/s, RabbitMQ CPU {backlogCpu[^1]:0} µs per message");
        }
        result.Figures.Add(Figure.Of("with a backlog (every send in flight at once)", "msg/s", backlog));
        result.Figures.Add(Figure.Of("with a backlog: CPU per message: rabbitmq", "µs", backlogCpu));
        result.Settings["envelopeBytes"] = probe.BodyBytes;
        return result;
    }
}
