using System.Diagnostics;
using System.Text.Json;
using Npgsql;
using Tasks.Benchmarks.Infrastructure;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 10. The camera's time per snapshot (its own measure, stored with each snapshot) with 20 simulated workers beating
/// every half second, on 1,000 task rows and then on 10,000,000 (100,000 with --quick), loaded with one
/// <c>INSERT ... SELECT generate_series</c>. It must stay flat: nothing it reads grows with the tasks table.
/// </summary>
public static class CameraAtScale
{
    private const int Workers = 20;
    private static readonly string[] Names = ["demo.echo", "demo.sleep", "demo.fail", "tasks.cleanup", "reports.generate"];

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var rows = s.Quick ? 100_000 : 10_000_000;
        var snapshots = s.Quick ? 5 : 30;
        var result = new ScenarioResult("camera", $"10. Camera ({Workers} simulated workers; 1,000 and {rows:N0} task rows)");
        result.Settings["workers"] = Workers;
        result.Settings["rows"] = rows;
        result.Settings["snapshots"] = snapshots;
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_camera");
        try
        {
            var env = new Dictionary<string, string>
            {
                ["ConnectionStrings__Tasks"] = iso.Postgres,
                ["ConnectionStrings__RabbitMq"] = iso.Rabbit.ToString(),
                ["RabbitMq__ManagementUrl"] = ctx.Servers.Management.ToString(),
                ["Monitor__SnapshotSeconds"] = "1",
            };
            await HostProcess.RunToEndAsync("Tasks.Web", env, "migrate");
            await using var db = NpgsqlDataSource.Create(iso.Postgres);
            await ExecuteAsync(db, InsertWorkersSql);

            await LoadAsync(db, 0, 1_000, live: true);
            var small = await MeasureAsync(db, env, snapshots);
            var load = Stopwatch.StartNew();
            // History only: the same backlog as at 1,000 rows (the relay would otherwise republish ~400,000 stale
            // pending and queued rows while the camera is timed, which is not what a grown table costs).
            await LoadAsync(db, 1_000, rows - 1_000, live: false);
            BenchContext.Log($"loaded {rows - 1_000:N0} more rows in {load.Elapsed.TotalSeconds:0} s");
            var large = await MeasureAsync(db, env, snapshots);

            foreach (var (label, times) in new[] { ("1,000 rows", small), ($"{rows:N0} rows", large) })
            {
                result.Figures.Add(Figure.One($"time per snapshot, {label}: p50", "ms", Stats.Percentile(times, 50)));
                result.Figures.Add(Figure.One($"time per snapshot, {label}: p95", "ms", Stats.Percentile(times, 95)));
                BenchContext.Log($"camera, {label}: p50 {Stats.Percentile(times, 50):0.0} ms, p95 {Stats.Percentile(times, 95):0.0} ms");
            }
            result.Figures.Add(Figure.One($"p50 at {rows:N0} rows / p50 at 1,000", "x", Stats.Percentile(large, 50) / Stats.Percentile(small, 50)));
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    /// <summary>One scheduler taking a snapshot a second while the workers beat; the snapshots after the first three count.</summary>
    private static async Task<List<double>> MeasureAsync(NpgsqlDataSource db, Dictionary<string, string> env, int snapshots)
    {
        await ExecuteAsync(db, "DELETE FROM monitor_snapshots; DELETE FROM monitor_alerts");
        var port = HostProcess.FreePort();
        await using var scheduler = HostProcess.Start("Tasks.Scheduler", port, new Dictionary<string, string>(env) { ["Health__Port"] = $"{port}" });
        await scheduler.WaitReadyAsync(TimeSpan.FromSeconds(60));
        for (var tick = 1; await CountAsync(db) < snapshots + 3; tick++)
        {
            await ExecuteAsync(db, "UPDATE workers SET heartbeat_at = now(), stats = $1::jsonb", WorkerStats(tick));
            await Task.Delay(500);
        }
        await scheduler.TerminateAsync();
        await scheduler.WaitForExitAsync(TimeSpan.FromSeconds(30));
        await using var cmd = db.CreateCommand("SELECT duration_ms FROM monitor_snapshots ORDER BY at OFFSET 3");
        await using var reader = await cmd.ExecuteReaderAsync();
        var times = new List<double>();
        while (await reader.ReadAsync()) times.Add(reader.GetDouble(0));
        return times;
    }

    /// <summary>What each worker counted by its <paramref name="tick"/>-th heartbeat: ten attempts per name per beat.</summary>
    private static string WorkerStats(int tick) => JsonSerializer.Serialize(Names.ToDictionary(n => n, _ =>
    {
        var buckets = new long[17];
        buckets[4] = 6L * tick;
        buckets[6] = 3L * tick;
        buckets[9] = tick;
        return new { started = 10L * tick, succeeded = 9L * tick, failed = 0L, retried = (long)tick, runMs = buckets, waitMs = buckets };
    }));

    private static readonly string InsertWorkersSql =
        $$"""
        INSERT INTO workers (name, host, pid, version, queues, processed, succeeded, failed, retried, stats, started_at, heartbeat_at, heartbeat_seconds)
        SELECT 'bench-' || i, 'bench', i, 'bench', '[{"name":"default","concurrency":32,"prefetch":128,"paused":false}]', 0, 0, 0, 0, '{}', now(), now(), 1
        FROM generate_series(1, {{Workers}}) AS i
        """;

    /// <summary>
    /// Rows <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/>, a week's worth, most
    /// finished, some scheduled, and when <paramref name="live"/> some queued and pending (scenario 7's mix), with ids
    /// in insertion order.
    /// </summary>
    private static async Task LoadAsync(NpgsqlDataSource db, int first, int count, bool live)
    {
        await using (var insert = db.CreateCommand(
            """
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds, backoff_seconds,
                               enqueued_at, scheduled_for, started_at, finished_at, updated_at, worker, cancel_requested)
            SELECT ('00000000-0000-7000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
                   (ARRAY['demo.echo','demo.sleep','demo.fail','tasks.cleanup','reports.generate'])[i % 5 + 1], 'default', st,
                   '{"message": "bench"}', 1, 3, 0, 300, 2, at,
                   CASE WHEN st = 'scheduled' THEN now() + interval '1 hour' END,
                   CASE WHEN st IN ('succeeded', 'failed') THEN at END,
                   CASE WHEN st IN ('succeeded', 'failed', 'canceled', 'expired') THEN at END,
                   at, CASE WHEN st IN ('succeeded', 'failed') THEN 'bench-1' END, false
            FROM generate_series($1::bigint, $1::bigint + $2 - 1) AS i,
                 LATERAL (SELECT now() - interval '7 days' + (i - $1) * interval '7 days' / $2 AS at,
                                 CASE WHEN i % 100 < 88 THEN 'succeeded' WHEN i % 100 < 91 THEN 'failed' WHEN i % 100 < 94 THEN (CASE WHEN $3 THEN 'queued' ELSE 'succeeded' END)
                                      WHEN i % 100 = 94 THEN (CASE WHEN $3 THEN 'pending' ELSE 'succeeded' END) WHEN i % 100 = 96 THEN 'scheduled' WHEN i % 100 < 99 THEN 'canceled'
                                      ELSE 'expired' END AS st) AS row
            """))
        {
            insert.CommandTimeout = 3600;
            insert.Parameters.Add(new() { Value = (long)first });
            insert.Parameters.Add(new() { Value = count });
            insert.Parameters.Add(new() { Value = live });
            await insert.ExecuteNonQueryAsync();
        }
        await using var vacuum = db.CreateCommand("VACUUM ANALYZE tasks, task_lookup");
        vacuum.CommandTimeout = 3600;
        await vacuum.ExecuteNonQueryAsync();
    }

    private static async Task<long> CountAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT count(*) FROM monitor_snapshots");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task ExecuteAsync(NpgsqlDataSource db, string sql, params object[] args)
    {
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new() { Value = a });
        await cmd.ExecuteNonQueryAsync();
    }
}
