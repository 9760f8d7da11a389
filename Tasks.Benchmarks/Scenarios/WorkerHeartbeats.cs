using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Tasks.Benchmarks.Infrastructure;
using Tasks.Core.Lifecycle.Moves;
using Tasks.Core.Monitoring;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 11. The worker heartbeat's cost: 20 simulated workers upsert their rows back to back through the worker's own
/// statement (<see cref="Heartbeat.BeatAsync"/>), each with 32 running ids and stats for 20 task names, on the
/// durable server, then the same with an idle worker's beat (no stats, nothing running). Per beat: latency, CPU of the
/// database's backends (and of every postgres process on the box, an upper bound when others share it), harness
/// CPU, WAL written; and what 100 workers at the default 5 s interval cost the backends, in % of one core. A real
/// worker sends the beat inside its lease renewal's round trip.
/// </summary>
public static class WorkerHeartbeats
{
    private const int Workers = 20, TaskNames = 20, Running = 32;

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var beatsPerWorker = s.Quick ? 100 : 500;
        var result = new ScenarioResult("heartbeat", $"11. Worker heartbeat ({Workers} workers × {beatsPerWorker} beats, stats for {TaskNames} task names)");
        result.Settings["workers"] = Workers;
        result.Settings["beatsPerWorker"] = beatsPerWorker;
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_heartbeat");
        try
        {
            var env = new Dictionary<string, string>
            {
                ["ConnectionStrings__Tasks"] = iso.Postgres,
                ["ConnectionStrings__RabbitMq"] = iso.Rabbit.ToString(),
            };
            await HostProcess.RunToEndAsync("Tasks.Web", env, "migrate");
            await using var db = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(iso.Postgres) { MaxPoolSize = Workers }.ConnectionString);
            var heartbeat = new Heartbeat(db);
            var stats = StatsJson();
            var busy = Enumerable.Range(0, Workers).Select(i => Beat($"bench-worker-{i:D2}", stats, Running)).ToArray();
            var idle = Enumerable.Range(0, Workers).Select(i => Beat($"bench-idle-{i:D2}", "{}", 0)).ToArray();
            // Rows exist (every timed beat updates) and the pool holds a connection per simulated worker.
            await Task.WhenAll(busy.Concat(idle).Select(beat => heartbeat.BeatAsync(beat, CancellationToken.None)));

            result.Figures.Add(Figure.One("stats JSON per beat", "bytes", System.Text.Encoding.UTF8.GetByteCount(stats)));
            foreach (var (label, beats) in new[] { ("", busy), ("idle worker: ", idle) })
            {
                List<double> p50 = [], p99 = [], backends = [], box = [], self = [], wal = [], share = [];
                for (var run = 0; run < s.Runs; run++)
                {
                    var walBefore = await WalAsync(db);
                    // The database's own backends (PostgreSQL runs on this box), and every postgres process as an upper bound.
                    var before = CpuTime.Now(await BackendsAsync(db));
                    var times = await Task.WhenAll(beats.Select(beat => BeatRepeatedlyAsync(heartbeat, beat, beatsPerWorker)));
                    var after = CpuTime.Now(await BackendsAsync(db));
                    var total = Workers * beatsPerWorker;
                    var cpu = CpuTime.PerTask(before, after, total, hosts: "backends", self: "harness");
                    var latencies = times.SelectMany(t => t).ToList();
                    p50.Add(Stats.Percentile(latencies, 50));
                    p99.Add(Stats.Percentile(latencies, 99));
                    backends.Add(cpu["backends"]);
                    box.Add(cpu["postgres"]);
                    self.Add(cpu["harness"]);
                    wal.Add((double)(await WalAsync(db) - walBefore) / total);
                    share.Add(cpu["backends"] * (100 / 5.0) / 1e6 * 100); // 100 workers, one beat each per 5 s, in % of a core
                    BenchContext.Log($"heartbeat {label}run {run + 1}: p50 {p50[^1]:0.00} ms, p99 {p99[^1]:0.00} ms, backends {backends[^1]:0} µs " +
                        $"(all postgres {box[^1]:0} µs) and {wal[^1]:0} WAL bytes per beat");
                }
                result.Figures.Add(Figure.Of(label + "beat latency p50", "ms", p50));
                result.Figures.Add(Figure.Of(label + "beat latency p99", "ms", p99));
                result.Figures.Add(Figure.Of(label + "CPU per beat: postgres backends", "µs", backends));
                result.Figures.Add(Figure.Of(label + "CPU per beat: every postgres process", "µs", box));
                result.Figures.Add(Figure.Of(label + "CPU per beat: harness", "µs", self));
                result.Figures.Add(Figure.Of(label + "WAL per beat", "bytes", wal));
                result.Figures.Add(Figure.Of(label + "postgres backends, 100 workers at 5 s", "% of a core", share));
            }
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    private static async Task<List<double>> BeatRepeatedlyAsync(Heartbeat heartbeat, WorkerBeat beat, int times)
    {
        var latencies = new List<double>(times);
        for (var i = 0; i < times; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await heartbeat.BeatAsync(beat with { Processed = beat.Processed + i }, CancellationToken.None);
            latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
        return latencies;
    }

    private static WorkerBeat Beat(string name, string stats, int running) => new(
        name, "bench-host", 4242, "1.0.0+bench", JsonSerializer.Serialize(new[] { new WorkerQueue("default", 32, 128, false) }, Json),
        [.. Enumerable.Range(0, running).Select(_ => Guid.CreateVersion7())], 1_000_000, 990_000, 5_000, 5_000, stats,
        DateTimeOffset.UtcNow, 5, Stopped: false);

    // Counters a day into a busy worker's life: every bucket holds something, so the JSON is as long as it gets.
    private static string StatsJson() => JsonSerializer.Serialize(Enumerable.Range(0, TaskNames).ToDictionary(
        i => $"reports.task-number-{i:D2}",
        i => new TaskNameStats(1_234_567, 1_200_000, 20_000, 14_567,
            [.. LatencyBuckets.UpperBoundsMs.Select((_, b) => 10_000L + 1_000 * b + i)],
            [.. LatencyBuckets.UpperBoundsMs.Select((_, b) => 20_000L + 1_000 * b + i)])), Json);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static async Task<List<int>> BackendsAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend'");
        var pids = new List<int>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) pids.Add(reader.GetInt32(0));
        return pids;
    }

    private static async Task<long> WalAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }
}
