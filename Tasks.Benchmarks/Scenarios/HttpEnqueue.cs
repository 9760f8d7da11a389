using System.Diagnostics;
using Tasks.Benchmarks.Infrastructure;
using Tasks.Core.Auth;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 4. HTTP enqueue against a real Tasks.Web process: <c>POST /api/v1/tasks</c> from many keep-alive connections,
/// then <c>POST /api/v1/tasks/batch</c> with 100 tasks per call. Accepted tasks/s and response time percentiles.
/// </summary>
public static class HttpEnqueue
{
    private const int BatchSize = 100;
    private const string Single = """{"name":"demo.echo","args":{"message":"bench"}}""";

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var result = new ScenarioResult("http", "4. HTTP enqueue (Tasks.Web)");
        result.Settings["seconds"] = s.HttpSeconds;
        result.Settings["singleConnections"] = s.HttpConnections;
        result.Settings["batchConnections"] = s.HttpBatchConnections;
        result.Settings["batchSize"] = BatchSize;
        var batch = "{\"tasks\":[" + string.Join(',', Enumerable.Repeat(Single, BatchSize)) + "]}";
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_http");
        try
        {
            var key = ApiKeys.Generate();
            var port = HostProcess.FreePort();
            var env = new Dictionary<string, string>
            {
                ["ConnectionStrings__Tasks"] = iso.Postgres,
                ["ConnectionStrings__RabbitMq"] = iso.Rabbit.ToString(),
                ["Web__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Auth__BootstrapApiKey"] = key,
            };
            await HostProcess.RunToEndAsync("Tasks.Web", env, "migrate");
            await using var web = HostProcess.Start("Tasks.Web", port, env);
            await web.WaitReadyAsync(TimeSpan.FromSeconds(60));

            var load = new Load(web.Address, key, web.Pid);
            // Warm-up, long enough for tiered JIT to finish: steady state is what a long-running web app serves at.
            // The web app runs more distinct code than a worker: 15 s and 45 s into a run, tiered compilation still
            // took 24% and 17% of its CPU (a profile), and its CPU per request only settled after about a minute.
            await load.RunAsync("api/v1/tasks", Single, 1, s.HttpConnections, TimeSpan.FromSeconds(s.Quick ? 5 : 45));
            await load.RunAsync("api/v1/tasks/batch", batch, BatchSize, s.HttpBatchConnections, TimeSpan.FromSeconds(s.Quick ? 2 : 15));
            var singles = new List<(double Rate, double P50, double P99, Dictionary<string, double> Cpu)>();
            var batches = new List<(double Rate, double P50, double P99, Dictionary<string, double> Cpu)>();
            for (var i = 0; i < s.Runs; i++)
            {
                singles.Add(await load.RunAsync("api/v1/tasks", Single, 1, s.HttpConnections, TimeSpan.FromSeconds(s.HttpSeconds)));
                BenchContext.Log($"http single run {i + 1}: {singles[^1].Rate:0} tasks/s, p50 {singles[^1].P50:0.0} ms, p99 {singles[^1].P99:0.0} ms, CPU µs per task: {Describe(singles[^1].Cpu)}");
                batches.Add(await load.RunAsync("api/v1/tasks/batch", batch, BatchSize, s.HttpBatchConnections, TimeSpan.FromSeconds(s.HttpSeconds)));
                BenchContext.Log($"http batch run {i + 1}: {batches[^1].Rate:0} tasks/s, p50 {batches[^1].P50:0.0} ms, p99 {batches[^1].P99:0.0} ms, CPU µs per task: {Describe(batches[^1].Cpu)}");
            }
            result.Figures.Add(Figure.Of("single: accepted", "tasks/s", [.. singles.Select(r => r.Rate)]));
            result.Figures.Add(Figure.Of("single: p50", "ms", [.. singles.Select(r => r.P50)]));
            result.Figures.Add(Figure.Of("single: p99", "ms", [.. singles.Select(r => r.P99)]));
            result.Figures.Add(Figure.Of("batch of 100: accepted", "tasks/s", [.. batches.Select(r => r.Rate)]));
            result.Figures.Add(Figure.Of("batch of 100: p50", "ms", [.. batches.Select(r => r.P50)]));
            result.Figures.Add(Figure.Of("batch of 100: p99", "ms", [.. batches.Select(r => r.P99)]));
            foreach (var process in singles[0].Cpu.Keys)
            {
                result.Figures.Add(Figure.Of($"single: CPU per task: {process}", "µs", [.. singles.Select(r => r.Cpu[process])]));
                result.Figures.Add(Figure.Of($"batch of 100: CPU per task: {process}", "µs", [.. batches.Select(r => r.Cpu[process])]));
            }
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    private static string Describe(Dictionary<string, double> cpu) => string.Join(", ", cpu.Select(p => $"{p.Key} {p.Value:0}"));

    /// <summary>
    /// Load from wrk: keep-alive connections, each sending its next request as soon as the last one was answered.
    /// A load generator on the box takes CPU from what it measures; wrk takes a fraction of what an HttpClient loop
    /// does (measured: ~50 µs per request for HttpClient).
    /// </summary>
    private sealed class Load(Uri web, string key, int webPid)
    {
        public async Task<(double Rate, double P50, double P99, Dictionary<string, double> Cpu)> RunAsync(
            string path, string body, int tasksPerCall, int connections, TimeSpan duration)
        {
            var script = Path.Combine(Path.GetTempPath(), $"tasks-bench-{Guid.NewGuid():N}.lua");
            await File.WriteAllTextAsync(script, $$"""
                wrk.method = "POST"
                wrk.body = [==[{{body}}]==]
                wrk.headers["Content-Type"] = "application/json"
                wrk.headers["Authorization"] = "Bearer {{key}}"
                done = function(summary, latency, requests)
                  local e = summary.errors
                  io.write(string.format("%d %d %d %f %f\n", summary.requests, summary.duration,
                    e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))
                end
                """);
            try
            {
                var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var arg in new[] { "--threads", "2", "--connections", connections.ToString(Inv), "--timeout", "30s",
                    "--duration", $"{(int)duration.TotalSeconds}s", "--script", script, new Uri(web, path).ToString() })
                    start.ArgumentList.Add(arg);
                var before = CpuTime.Now([webPid]);
                var childrenBefore = CpuTime.WaitedForChildren();
                using var wrk = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start.");
                var output = wrk.StandardOutput.ReadToEndAsync();
                var errors = wrk.StandardError.ReadToEndAsync();
                await wrk.WaitForExitAsync();
                var cpu = CpuTime.PerTask(before, CpuTime.Now([webPid]), 1, hosts: "web", self: "load generator");
                var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (wrk.ExitCode != 0 || lines.Length == 0) throw new InvalidOperationException($"wrk failed ({wrk.ExitCode}): {await errors}{await output}");
                var f = lines[^1].Split(' ');
                var (requests, micros, failed) = (long.Parse(f[0], Inv), long.Parse(f[1], Inv), long.Parse(f[2], Inv));
                if (failed > 0) throw new InvalidOperationException($"{failed} requests to {path} failed or were not accepted:\n{await output}");
                var accepted = Math.Max(1, requests * tasksPerCall);
                // wrk is this process's child: its CPU is in ours once it has been waited for.
                cpu["load generator"] += (CpuTime.WaitedForChildren() - childrenBefore) * 1e6;
                foreach (var k in cpu.Keys) cpu[k] /= accepted;
                return (accepted / (micros / 1e6), double.Parse(f[3], Inv) / 1000, double.Parse(f[4], Inv) / 1000, cpu);
            }
            finally
            {
                File.Delete(script);
            }
        }

        private static readonly System.Globalization.CultureInfo Inv = System.Globalization.CultureInfo.InvariantCulture;
    }
}
