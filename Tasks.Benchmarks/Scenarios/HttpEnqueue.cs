using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
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

            using var http = new HttpClient(new SocketsHttpHandler
            {
                MaxConnectionsPerServer = Math.Max(s.HttpConnections, s.HttpBatchConnections),
                PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            })
            { BaseAddress = web.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

            // Warm-up, long enough for tiered JIT to finish: steady state is what a long-running web app serves at.
            // The web app runs more distinct code than a worker: 15 s and 45 s into a run, tiered compilation still
            // took 24% and 17% of its CPU (a profile), and its CPU per request only settled after about a minute.
            await LoadAsync(http, web.Pid, "api/v1/tasks", Single, 1, s.HttpConnections, TimeSpan.FromSeconds(s.Quick ? 5 : 45));
            await LoadAsync(http, web.Pid, "api/v1/tasks/batch", batch, BatchSize, s.HttpBatchConnections, TimeSpan.FromSeconds(s.Quick ? 2 : 15));
            var singles = new List<(double Rate, double P50, double P99, Dictionary<string, double> Cpu)>();
            var batches = new List<(double Rate, double P50, double P99, Dictionary<string, double> Cpu)>();
            for (var i = 0; i < s.Runs; i++)
            {
                singles.Add(await LoadAsync(http, web.Pid, "api/v1/tasks", Single, 1, s.HttpConnections, TimeSpan.FromSeconds(s.HttpSeconds)));
                BenchContext.Log($"http single run {i + 1}: {singles[^1].Rate:0} tasks/s, p50 {singles[^1].P50:0.0} ms, p99 {singles[^1].P99:0.0} ms, CPU µs per task: {Describe(singles[^1].Cpu)}");
                batches.Add(await LoadAsync(http, web.Pid, "api/v1/tasks/batch", batch, BatchSize, s.HttpBatchConnections, TimeSpan.FromSeconds(s.HttpSeconds)));
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

    private static async Task<(double Rate, double P50, double P99, Dictionary<string, double> Cpu)> LoadAsync(
        HttpClient http, int webPid, string path, string body, int tasksPerCall, int connections, TimeSpan duration)
    {
        var cpuBefore = CpuTime.Now([webPid]);
        var uri = new Uri(path, UriKind.Relative);
        var content = Encoding.UTF8.GetBytes(body);
        var latencies = new List<double>[connections];
        var accepted = 0L;
        var failures = 0L;
        var clock = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, connections).Select(c => Task.Run(async () =>
        {
            var mine = latencies[c] = new List<double>(4096);
            while (clock.Elapsed < duration)
            {
                using var request = new ByteArrayContent(content);
                request.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                var start = Stopwatch.GetTimestamp();
                using var response = await http.PostAsync(uri, request);
                await response.Content.LoadIntoBufferAsync();
                mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                if (response.StatusCode == HttpStatusCode.Accepted) Interlocked.Add(ref accepted, tasksPerCall);
                else Interlocked.Increment(ref failures);
            }
        })).ToList();
        await Task.WhenAll(loops);
        var elapsed = clock.Elapsed.TotalSeconds;
        var cpu = CpuTime.PerTask(cpuBefore, CpuTime.Now([webPid]), Math.Max(1, accepted), hosts: "web", self: "load generator");
        if (failures > 0) throw new InvalidOperationException($"{failures} requests to {path} were not accepted.");
        var all = latencies.SelectMany(l => l).ToList();
        return (accepted / elapsed, Stats.Percentile(all, 50), Stats.Percentile(all, 99), cpu);
    }
}
