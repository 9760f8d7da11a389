using Tasks.Benchmarks.Infrastructure;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 3. End-to-end no-op throughput (one worker process, default concurrency), 5. latency at half that rate,
/// 6. two worker processes against one, and the worker's resident memory under that load: all on one stack.
/// </summary>
public static class Pipeline
{
    private const int Callers = 16;
    private const int Batch = 50;

    /// <summary>
    /// Runs tasks through fresh worker processes until tiered JIT has settled (a cold worker runs at a third of its
    /// speed for its first half minute or so): what is measured is a worker that has been up for a while.
    /// </summary>
    private static async Task WarmUpAsync(TasksStack stack, BenchSettings s, TimeSpan timeout)
    {
        var until = DateTime.UtcNow.AddSeconds(s.Quick ? 5 : 30);
        while (DateTime.UtcNow < until) await stack.BurstAsync(2_000, Callers, Batch, timeout);
    }

    /// <summary>
    /// Scenario 3's bursts, <see cref="BenchSettings.Runs"/> times, into <paramref name="result"/>; with a
    /// <paramref name="ceiling"/>, each run right after a measure of it, and the ratio of each pair.
    /// </summary>
    private static async Task MeasureAsync(TasksStack stack, BenchSettings s, ScenarioResult result, List<double> rss, TimeSpan timeout, string label,
        BusProbe? ceiling = null)
    {
        result.Settings["tasks"] = s.EndToEndTasks;
        result.Settings["enqueue"] = $"{Callers} concurrent callers, TaskEnqueuer batches of {Batch}";
        result.Settings["workerConcurrency"] = BenchSettings.WorkerConcurrency;
        foreach (var (k, v) in TasksStack.DeployedWorker.Concat(s.WorkerEnvironment)) result.Settings["worker " + k] = v;
        var runs = new List<double>();
        var service = new List<double>();
        var enqueued = new List<double>();
        var cpu = new Dictionary<string, List<double>>();
        var (ceilings, pairs) = (new List<double>(), new List<double>());
        var ceilingCpu = new Dictionary<string, List<double>>();
        for (var i = 0; i < s.Runs; i++)
        {
            if (ceiling is not null)
            {
                await Task.Delay(TimeSpan.FromSeconds(s.Quick ? 1 : 3)); // the run before's aftermath (the mark's writes, autovacuum) settles
                // Its CPU per message too, against scenario 2's: whether the bus itself costs more beside the stack.
                var before = CpuTime.Now([]);
                ceilings.Add(await ceiling.OnceAsync(s.BusMessages));
                foreach (var (process, us) in CpuTime.PerTask(before, CpuTime.Now([]), s.BusMessages, self: "bus (sender and consumer)")
                             .Where(p => p.Key != "worker" && p.Key != "postgres"))
                    (ceilingCpu.TryGetValue(process, out var l) ? l : ceilingCpu[process] = []).Add(us);
            }
            var (rate, peak, runMs, enqueueRate, cpuPerTask) = await stack.BurstAsync(s.EndToEndTasks, Callers, Batch, timeout);
            if (ceiling is not null)
            {
                pairs.Add(rate / ceilings[^1]);
                BenchContext.Log($"{label} run {i + 1}: the bus ceiling just before it {ceilings[^1]:0} msg/s "
                    + $"(CPU µs per message: {string.Join(", ", ceilingCpu.Select(p => $"{p.Key} {p.Value[^1]:0}"))}); ratio {pairs[^1]:0.000}");
            }
            runs.Add(rate);
            foreach (var (process, us) in cpuPerTask) (cpu.TryGetValue(process, out var l) ? l : cpu[process] = []).Add(us);
            enqueued.Add(enqueueRate);
            rss.Add(peak);
            service.Add(runMs);
            BenchContext.Log($"{label} run {i + 1}: {rate:0} tasks/s (enqueued at {enqueueRate:0}/s), claim→succeeded p50 {runMs:0.0} ms, worker peak RSS {peak:0} MB, CPU µs per task: {string.Join(", ", cpuPerTask.Select(p => $"{p.Key} {p.Value:0}"))}");
        }
        result.Figures.Add(Figure.Of("throughput", "tasks/s", runs));
        result.Figures.Add(Figure.Of("enqueue rate (all enqueue calls returned)", "tasks/s", enqueued));
        result.Figures.Add(Figure.Of("claim→succeeded p50 (in the worker)", "ms", service));
        if (ceiling is not null)
        {
            result.Figures.Add(Figure.Of(PairedCeiling, "msg/s", ceilings));
            result.Figures.Add(Figure.Of(PairedRatio, "x", pairs));
            foreach (var (process, us) in ceilingCpu) result.Figures.Add(Figure.Of($"{PairedCeilingCpu}{process}", "µs", us));
        }
        foreach (var (process, us) in cpu) result.Figures.Add(Figure.Of($"CPU per task: {process}", "µs", us));
    }

    public const string PairedCeiling = "bus ceiling right before each run (paired)";
    public const string PairedRatio = "ratio to the bus ceiling right before it (paired)";
    public const string PairedCeilingCpu = "bus ceiling right before each run: CPU per message: ";

    public static async Task RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var timeout = TimeSpan.FromMinutes(s.Quick ? 1 : 5);
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_pipeline");
        try
        {
            await using var stack = await TasksStack.StartAsync(iso, s.WorkerEnvironment);
            await stack.StartWorkersAsync(1);
            await WarmUpAsync(stack, s, timeout);

            ScenarioResult? e2e = null, single = null;
            if (s.IsSelected(3) || s.IsSelected(5) || s.IsSelected(6))
            {
                e2e = new ScenarioResult("endToEnd", "3. End-to-end no-op (demo.echo, 1 worker)");
                var rss = new List<double>();
                await MeasureAsync(stack, s, e2e, rss, timeout, "end-to-end");
                ctx.Results.Add(e2e);

                // The same with every task in a message of its own (as single enqueues always are): what a task costs
                // when the broker and MassTransit handle it alone, against the bus ceiling's one message.
                single = new ScenarioResult("endToEndOneMessagePerTask", "3. End-to-end no-op, one message per task");
                stack.SetMaxTasksPerMessage(1);
                // With scenario 2 chosen, its bus is measured again right before each run: the box's speed moves
                // between runs minutes apart, and this target is a ratio of the two.
                await using var ceiling = s.IsSelected(2) ? await BusProbe.StartAsync(ctx, "bench_bus_paired") : null;
                await WarmUpAsync(stack, s, timeout);
                await MeasureAsync(stack, s, single, rss, timeout, "one message per task", ceiling);
                stack.SetMaxTasksPerMessage(Core.Hosting.TasksOptions.DefaultMaxTasksPerMessage);
                ctx.Results.Add(single);

                var memory = new ScenarioResult("memory", $"Worker memory at concurrency {BenchSettings.WorkerConcurrency} (the default)");
                memory.Figures.Add(Figure.One("peak RSS under load", "MB", rss.Max()));
                memory.Figures.Add(Figure.One("RSS after the bursts", "MB", stack.Workers[0].ResidentMegabytes()));
                ctx.Results.Add(memory);
            }

            if (s.IsSelected(5) && single is not null)
            {
                // Half of what the box moves with one message per task, as each of these single enqueues is.
                var rate = s.LatencyRate ?? single.Figures[0].Median / 2;
                var latency = new ScenarioResult("latency", s.LatencyRate is null ? "5. Latency at half the end-to-end maximum (one message per task)" : "5. Latency at a given rate");
                latency.Settings["rate"] = Math.Round(rate);
                latency.Settings["seconds"] = s.LatencySeconds;
                latency.Settings["enqueue"] = "single-task TaskEnqueuer calls, each its own transaction and publish";
                // Not measured: the same rate for a few seconds first, so that a steady rate is what is measured, not
                // the aftermath of scenario 3's bursts (the worker's garbage, autovacuum on the rows they left).
                await PacedRun.RunAsync(stack, rate, TimeSpan.FromSeconds(s.Quick ? 2 : 5), timeout);
                var runs = new List<Dictionary<string, double>>();
                for (var i = 0; i < s.Runs; i++)
                {
                    runs.Add(await PacedRun.RunAsync(stack, rate, TimeSpan.FromSeconds(s.LatencySeconds), timeout));
                    var cpu = runs[^1].Where(p => p.Key.StartsWith(PacedRun.CpuPrefix, StringComparison.Ordinal))
                        .Select(p => $"{p.Key[PacedRun.CpuPrefix.Length..]} {p.Value:0}");
                    BenchContext.Log($"latency run {i + 1}: start p50 {runs[^1]["start p50"]:0.0} p99 {runs[^1]["start p99"]:0.0} ms "
                        + $"(per second: median {runs[^1]["start p99, median of the seconds"]:0.0}, worst {runs[^1]["start p99, worst second"]:0.0}; "
                        + $"{runs[^1][PacedRun.AutovacuumKey]} autovacuum, {runs[^1][PacedRun.AutoanalyzeKey]} autoanalyze), CPU µs per task: {string.Join(", ", cpu)}");
                }
                foreach (var key in runs[0].Keys)
                {
                    var (name, unit) = key switch
                    {
                        "achieved rate" => (key, "tasks/s"),
                        PacedRun.AutovacuumKey or PacedRun.AutoanalyzeKey => (key, "runs"),
                        _ when key.StartsWith(PacedRun.CpuPrefix, StringComparison.Ordinal) => (key, "µs"),
                        _ => ("enqueue→" + key, "ms"),
                    };
                    latency.Figures.Add(Figure.Of(name, unit, [.. runs.Select(r => r[key])]));
                }
                ctx.Results.Add(latency);
            }

            if (s.IsSelected(6) && e2e is not null)
            {
                await stack.StartWorkersAsync(1);
                await WarmUpAsync(stack, s, timeout);
                var scale = new ScenarioResult("scaleOut", "6. Scale-out: 2 worker processes vs 1");
                scale.Settings["tasks"] = s.EndToEndTasks;
                var runs = new List<double>();
                for (var i = 0; i < s.Runs; i++)
                {
                    runs.Add((await stack.BurstAsync(s.EndToEndTasks, Callers, Batch, timeout)).TasksPerSecond);
                    BenchContext.Log($"two workers run {i + 1}: {runs[^1]:0} tasks/s");
                }
                scale.Figures.Add(Figure.Of("throughput, 2 workers", "tasks/s", runs));
                var one = e2e.Figures[0].Median;
                scale.Figures.Add(Figure.Of("ratio 2 workers / 1", "x", [.. runs.Select(r => r / one)]));
                ctx.Results.Add(scale);
            }
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
    }
}
