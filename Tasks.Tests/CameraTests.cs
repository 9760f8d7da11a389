using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The camera as operators run it: scheduler processes on the stack's database and broker taking a snapshot a second,
/// read back through the monitor API and the tables. Worker heartbeats are rows the tests write themselves, the
/// "simulated workers" of the benchmark, so each test decides exactly what the workers counted. Alerts, pruning and
/// the monitor API's other reads: <see cref="MonitorTests"/>.
/// </summary>
public sealed class CameraTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>, IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = ApiExtensions.Json;

    public async ValueTask InitializeAsync() => await stack.ResetMonitorAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Two_schedulers_take_exactly_one_snapshot_per_interval()
    {
        // A box starved for more than the misfire threshold would skip slots by design (NextWithRemainingCount): a
        // long threshold makes late slots fire late instead, so a gap can only mean a slot nobody scheduled.
        var env = stack.MonitorEnvironment(new() { ["Beat__MisfireThresholdSeconds"] = "120" });
        string output;
        await using (var a = await HostProcess.StartAsync("Tasks.Scheduler", env))
        await using (var b = await HostProcess.StartAsync("Tasks.Scheduler", env))
        {
            // Both are in the cluster from here on: the snapshots taken while both run are the ones that count.
            var since = DateTimeOffset.UtcNow;
            await MonitorRows.WaitUntilAsync(async () => await stack.CountAsync("monitor_snapshots WHERE at > $1", since) >= 8, "eight snapshots with both running");
            await a.TerminateAsync();
            await b.TerminateAsync();
            await a.WaitForExitAsync(TimeSpan.FromSeconds(30));
            await b.WaitForExitAsync(TimeSpan.FromSeconds(30));
            output = a.Output + b.Output;
        }

        // The slot is the key, so no slot is stored twice; none may be missing either.
        var slots = await SlotsAsync();
        var doubled = output.Split('\n').Count(l => l.Contains(" was already taken", StringComparison.Ordinal));
        TestContext.Current.TestOutputHelper?.WriteLine($"{slots.Count} snapshots, {doubled} second fires of a slot stored nothing");
        Assert.True(slots.Count >= 8);
        for (var i = 1; i < slots.Count; i++)
            Assert.True(slots[i] - slots[i - 1] == TimeSpan.FromSeconds(1),
                $"gap or overlap between {slots[i - 1]:HH:mm:ss.fff} and {slots[i]:HH:mm:ss.fff}");
        Assert.All(slots, s => Assert.Equal(0, s.Millisecond));
    }

    [Fact]
    public async Task A_snapshot_counts_per_name_the_difference_of_the_workers_counters_and_a_restart_whole()
    {
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", stack.MonitorEnvironment());
        // The first sight of w1 is its baseline: what it did before is not this test's interval.
        await stack.UpsertWorkerAsync("w1", startedAt: DateTimeOffset.UtcNow.AddMinutes(-5), MonitorRows.Stats(("demo.echo", 5, 4, 1, 0, 5)));
        var seen = await WaitForSnapshotAsync("baseline ? 'w1'");

        // w1 runs seven more (two of them retried), w2 appears with three: ten in all, counted once across snapshots.
        await stack.UpsertWorkerAsync("w1", startedAt: await StartedAtAsync("w1"), MonitorRows.Stats(("demo.echo", 12, 9, 1, 2, 12), ("demo.fail", 1, 0, 1, 0, 1)));
        await stack.UpsertWorkerAsync("w2", startedAt: DateTimeOffset.UtcNow, MonitorRows.Stats(("demo.echo", 3, 3, 0, 0, 3)));
        var second = await WaitForSnapshotAsync("baseline ? 'w2'");
        var echo = await SumAsync("demo.echo", after: seen, upTo: second);
        Assert.Equal((10L, 8L, 0L, 2L), (echo.Started, echo.Succeeded, echo.Failed, echo.Retried));
        Assert.Equal((1L, 1L), ((await SumAsync("demo.fail", seen, second)).Started, (await SumAsync("demo.fail", seen, second)).Failed));

        // w1 restarted: its counters began again, and all it counted since is this interval's.
        await stack.UpsertWorkerAsync("w1", startedAt: DateTimeOffset.UtcNow, MonitorRows.Stats(("demo.echo", 4, 4, 0, 0, 4)));
        var third = await WaitForSnapshotAsync("(baseline -> 'w1' -> 'stats' -> 'demo.echo' ->> 'started') = '4'");
        Assert.Equal(4L, (await SumAsync("demo.echo", second, third)).Started);

        // The API shows the same: the latest snapshot, and a series whose step adds the intervals up.
        using var stats = await stack.Http.GetAsync("/api/v1/stats");
        Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
        var latest = await stats.Content.ReadFromJsonAsync<JsonElement>(Json);
        Assert.Equal(2, latest.GetProperty("workers").GetProperty("online").GetInt32());
        Assert.Equal(2, latest.GetProperty("workers").GetProperty("items").GetArrayLength());
        Assert.True(latest.GetProperty("tasks").TryGetProperty("states", out _));
        Assert.True(latest.GetProperty("outbox").TryGetProperty("pending", out _));
        var from = seen.AddMilliseconds(1).ToString("O");
        var to = third.AddMilliseconds(1).ToString("O");
        var series = await stack.Http.GetFromJsonAsync<JsonElement>($"/api/v1/snapshots?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}&step=3600", Json);
        var points = series.GetProperty("items").EnumerateArray().ToList();
        Assert.InRange(points.Count, 1, 2); // the range may straddle an hour
        var started = points.Sum(p => p.GetProperty("names").TryGetProperty("demo.echo", out var n) ? n.GetProperty("started").GetInt64() : 0);
        Assert.Equal(14, started);
        var echoPoint = points.First(p => p.GetProperty("names").TryGetProperty("demo.echo", out _)).GetProperty("names").GetProperty("demo.echo");
        Assert.InRange(echoPoint.GetProperty("runP50Ms").GetDouble(), 20, 50); // every run was in the 20–50 ms bucket
        Assert.InRange(echoPoint.GetProperty("waitP95Ms").GetDouble(), 20, 50);
    }

    [Fact]
    public async Task A_snapshot_counts_per_name_the_tasks_a_real_worker_ran()
    {
        var queue = $"cam-{Guid.NewGuid():N}"[..16];
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", stack.MonitorEnvironment());
        var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:HeartbeatSeconds"] = "1", ["Worker:Name"] = queue });
        try
        {
            var tasks = new List<Guid>();
            for (var i = 0; i < 6; i++) tasks.Add((await stack.Http.EnqueueAsync(new { name = "demo.echo", queue, args = new { } })).Id);
            // Fails its first attempt (retried at once), then succeeds; another fails for good.
            tasks.Add((await stack.Http.EnqueueAsync(new { name = "demo.fail", queue, args = new { failTimes = 1 }, backoffSeconds = 0 })).Id);
            tasks.Add((await stack.Http.EnqueueAsync(new { name = "demo.fail", queue, args = new { failTimes = 5 }, maxAttempts = 1 })).Id);
            foreach (var id in tasks) await stack.Http.WaitForAsync(id, t => t.State is "succeeded" or "failed");

            // Once a snapshot has seen the worker's last counts, the snapshots add up to what ran: the worker is new, so all it counted.
            await WaitForSnapshotAsync($"(baseline -> '{queue}' -> 'stats' -> 'demo.echo' ->> 'started') = '6' AND (baseline -> '{queue}' -> 'stats' -> 'demo.fail' ->> 'started') = '3'");
            var far = DateTimeOffset.UtcNow.AddDays(1);
            var echo = await SumAsync("demo.echo", DateTimeOffset.MinValue, far);
            var fail = await SumAsync("demo.fail", DateTimeOffset.MinValue, far);
            Assert.Equal((6L, 6L, 0L, 0L), echo);
            Assert.Equal((3L, 1L, 1L, 1L), fail); // three attempts: one retried, one succeeded, one failed
            // And to what the tasks table says ran.
            Assert.Equal(echo.Succeeded, await stack.CountAsync("tasks WHERE queue = $1 AND name = 'demo.echo' AND state = 'succeeded'", queue));
            Assert.Equal((fail.Succeeded, fail.Failed), (
                await stack.CountAsync("tasks WHERE queue = $1 AND name = 'demo.fail' AND state = 'succeeded'", queue),
                await stack.CountAsync("tasks WHERE queue = $1 AND name = 'demo.fail' AND state = 'failed'", queue)));
        }
        finally
        {
            await worker.StopAsync();
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_camera_reads_the_tasks_table_through_its_partial_indexes_only()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = stack.OpenDatabase();
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct); // rolled back: the rows are this test's alone
        await using (var load = new NpgsqlCommand(
            """
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds, backoff_seconds,
                               enqueued_at, started_at, updated_at, heartbeat_at, cancel_requested)
            SELECT gen_random_uuid(), 'demo.echo', 'default', CASE WHEN i % 1000 = 0 THEN 'pending' WHEN i % 1000 = 1 THEN 'running' ELSE 'succeeded' END,
                   '{}', 1, 3, 0, 300, 2, now(), now(), now() - i * interval '1 second', now(), false
            FROM generate_series(1, 100000) AS i;
            ANALYZE tasks;
            """, conn, tx))
            await load.ExecuteNonQueryAsync(ct);
        foreach (var (sql, index) in new[] { (Tasks.Scheduler.Monitoring.Camera.OldestPendingSql, "ix_tasks_pending"), (Tasks.Scheduler.Monitoring.Camera.OverdueSql, "ix_tasks_running") })
        {
            var plan = new List<string>();
            await using (var explain = new NpgsqlCommand($"EXPLAIN {sql}", conn, tx))
            await using (var reader = await explain.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct)) plan.Add(reader.GetString(0));
            var text = string.Join('\n', plan);
            Assert.Contains(index, text, StringComparison.Ordinal);
            Assert.DoesNotContain("Seq Scan", text, StringComparison.Ordinal);
        }
    }

    private async Task<DateTimeOffset> StartedAtAsync(string worker)
    {
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand($"SELECT started_at FROM workers WHERE name = '{worker}'");
        return new DateTimeOffset((DateTime)(await cmd.ExecuteScalarAsync())!, TimeSpan.Zero);
    }

    /// <summary>The slot of the first snapshot matching <paramref name="where"/>: the first taken after what it names was written.</summary>
    private async Task<DateTimeOffset> WaitForSnapshotAsync(string where)
    {
        DateTimeOffset? at = null;
        await MonitorRows.WaitUntilAsync(async () =>
        {
            await using var db = stack.OpenDatabase();
            await using var cmd = db.CreateCommand($"SELECT min(at) FROM monitor_snapshots WHERE {where}");
            at = await cmd.ExecuteScalarAsync() is DateTime t ? new DateTimeOffset(t, TimeSpan.Zero) : null;
            return at is not null;
        }, where);
        return at!.Value;
    }

    private async Task<(long Started, long Succeeded, long Failed, long Retried)> SumAsync(string name, DateTimeOffset after, DateTimeOffset upTo)
    {
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand(
            """
            SELECT coalesce(sum((names -> $1 ->> 'started')::bigint), 0)::bigint, coalesce(sum((names -> $1 ->> 'succeeded')::bigint), 0)::bigint,
                   coalesce(sum((names -> $1 ->> 'failed')::bigint), 0)::bigint, coalesce(sum((names -> $1 ->> 'retried')::bigint), 0)::bigint
            FROM monitor_snapshots WHERE at > $2 AND at <= $3
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = name });
        cmd.Parameters.Add(new NpgsqlParameter { Value = after });
        cmd.Parameters.Add(new NpgsqlParameter { Value = upTo });
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    private async Task<List<DateTimeOffset>> SlotsAsync()
    {
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand("SELECT at FROM monitor_snapshots ORDER BY at");
        await using var reader = await cmd.ExecuteReaderAsync();
        var slots = new List<DateTimeOffset>();
        while (await reader.ReadAsync()) slots.Add(reader.GetFieldValue<DateTimeOffset>(0));
        return slots;
    }

}
