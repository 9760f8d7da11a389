using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The camera as operators run it: scheduler processes on the stack's database and broker taking a snapshot a second,
/// read back through the monitor API and the tables. Worker heartbeats are rows the tests write themselves, the
/// "simulated workers" of the benchmark, so each test decides exactly what the workers counted.
/// </summary>
public sealed class CameraTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>, IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = ApiExtensions.Json;

    // The fixture's database is shared by the class's tests: each starts from no snapshots, alerts or workers.
    public async ValueTask InitializeAsync() =>
        await stack.ExecuteAsync("DELETE FROM monitor_snapshots; DELETE FROM monitor_alerts; DELETE FROM workers");

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private Dictionary<string, string> SchedulerEnvironment(Dictionary<string, string>? extra = null)
    {
        var env = stack.Environment();
        env["Monitor__SnapshotSeconds"] = "1";
        env["Beat__CheckinIntervalSeconds"] = "1";
        env["Beat__CheckinMisfireThresholdSeconds"] = "1";
        foreach (var (k, v) in extra ?? []) env[k] = v;
        return env;
    }

    [Fact]
    public async Task Two_schedulers_take_exactly_one_snapshot_per_interval()
    {
        // A box starved for more than the misfire threshold would skip slots by design (NextWithRemainingCount): a
        // long threshold makes late slots fire late instead, so a gap can only mean a slot nobody scheduled.
        var env = SchedulerEnvironment(new() { ["Beat__MisfireThresholdSeconds"] = "120" });
        string output;
        await using (var a = await HostProcess.StartAsync("Tasks.Scheduler", env))
        await using (var b = await HostProcess.StartAsync("Tasks.Scheduler", env))
        {
            // Both are in the cluster from here on: the snapshots taken while both run are the ones that count.
            var since = DateTimeOffset.UtcNow;
            await WaitForAsync(async () => await stack.CountAsync("monitor_snapshots WHERE at > $1", since) >= 8, "eight snapshots with both running");
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
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", SchedulerEnvironment());
        // The first sight of w1 is its baseline: what it did before is not this test's interval.
        await UpsertWorkerAsync("w1", startedAt: DateTimeOffset.UtcNow.AddMinutes(-5), Stats(("demo.echo", 5, 4, 1, 0, 5)));
        var seen = await WaitForSnapshotAsync("baseline ? 'w1'");

        // w1 runs seven more (two of them retried), w2 appears with three: ten in all, counted once across snapshots.
        await UpsertWorkerAsync("w1", startedAt: await StartedAtAsync("w1"), Stats(("demo.echo", 12, 9, 1, 2, 12), ("demo.fail", 1, 0, 1, 0, 1)));
        await UpsertWorkerAsync("w2", startedAt: DateTimeOffset.UtcNow, Stats(("demo.echo", 3, 3, 0, 0, 3)));
        var second = await WaitForSnapshotAsync("baseline ? 'w2'");
        var echo = await SumAsync("demo.echo", after: seen, upTo: second);
        Assert.Equal((10L, 8L, 0L, 2L), (echo.Started, echo.Succeeded, echo.Failed, echo.Retried));
        Assert.Equal((1L, 1L), ((await SumAsync("demo.fail", seen, second)).Started, (await SumAsync("demo.fail", seen, second)).Failed));

        // w1 restarted: its counters began again, and all it counted since is this interval's.
        await UpsertWorkerAsync("w1", startedAt: DateTimeOffset.UtcNow, Stats(("demo.echo", 4, 4, 0, 0, 4)));
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
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", SchedulerEnvironment());
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
    public async Task A_queue_with_messages_and_no_consumer_raises_an_alert_that_a_consumer_ends()
    {
        var queue = $"nc-{Guid.NewGuid():N}"[..16];
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", SchedulerEnvironment());
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", queue, args = new { } });
        var raised = await WaitForAlertAsync("queue_without_consumers", queue, active: true);
        Assert.Contains("no consumer", raised.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains($"Alert queue_without_consumers raised for {queue}", scheduler.Output, StringComparison.Ordinal);
        var queues = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/queues", Json);
        var listed = queues.GetProperty("items").EnumerateArray().Single(q => q.GetProperty("name").GetString() == queue);
        Assert.Equal((1, 0, false), (listed.GetProperty("depth").GetInt64(), listed.GetProperty("consumers").GetInt32(), listed.GetProperty("paused").GetBoolean()));

        var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue });
        try
        {
            await stack.Http.WaitForStateAsync(task.Id, "succeeded");
            var ended = await WaitForAlertAsync("queue_without_consumers", queue, active: false);
            Assert.False(ended.GetProperty("active").GetBoolean());
            Assert.True(ended.GetProperty("endedAt").GetDateTimeOffset() > ended.GetProperty("startedAt").GetDateTimeOffset());
        }
        finally
        {
            await worker.StopAsync();
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_worker_gone_silent_raises_an_offline_alert_until_it_beats_again()
    {
        await UpsertWorkerAsync("gone", DateTimeOffset.UtcNow.AddHours(-1), Stats(), heartbeatAgo: TimeSpan.FromMinutes(1));
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", SchedulerEnvironment());
        var raised = await WaitForAlertAsync("worker_offline", "gone", active: true);
        Assert.Contains("gone", raised.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var stats = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/stats", Json);
        Assert.Equal(1, stats.GetProperty("workers").GetProperty("offline").GetInt32());

        using var beating = new CancellationTokenSource();
        var beats = Task.Run(async () =>
        {
            while (!beating.IsCancellationRequested)
            {
                await stack.ExecuteAsync("UPDATE workers SET heartbeat_at = now() WHERE name = 'gone'");
                await Task.Delay(300);
            }
        });
        await WaitForAlertAsync("worker_offline", "gone", active: false);
        await beating.CancelAsync();
        await beats;
    }

    [Fact]
    public async Task Pruning_removes_snapshots_alerts_and_workers_older_than_the_retention_in_batches()
    {
        // 1,500 old snapshots: more than one batch. A day-old one, an open alert and a recently stopped worker stay.
        await stack.ExecuteAsync(
            """
            INSERT INTO monitor_snapshots (at, interval_seconds, duration_ms, workers_online, workers_offline, workers_stopped,
                started, succeeded, failed, retried, outbox_pending, scheduled, workers, states, names, queues, baseline)
            SELECT at, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, '[]'::jsonb, '{}'::jsonb, '{}'::jsonb, '{}'::jsonb, '{}'::jsonb
            FROM (SELECT now() - interval '20 days' + i * interval '1 second' FROM generate_series(1, 1500) AS i
                  UNION ALL SELECT now() - interval '1 day') AS old(at);
            INSERT INTO monitor_alerts (kind, subject, started_at, ended_at, detail) VALUES
                ('worker_offline', 'old', now() - interval '21 days', now() - interval '20 days', 'old'),
                ('worker_offline', 'open', now() - interval '20 days', NULL, 'still open');
            """);
        await UpsertWorkerAsync("stopped-long-ago", DateTimeOffset.UtcNow.AddDays(-30), Stats(), heartbeatAgo: TimeSpan.FromDays(20), stoppedAgo: TimeSpan.FromDays(20));
        await UpsertWorkerAsync("offline-long-ago", DateTimeOffset.UtcNow.AddDays(-30), Stats(), heartbeatAgo: TimeSpan.FromDays(20));
        await UpsertWorkerAsync("stopped-yesterday", DateTimeOffset.UtcNow.AddDays(-2), Stats(), heartbeatAgo: TimeSpan.FromDays(1), stoppedAgo: TimeSpan.FromDays(1));

        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", SchedulerEnvironment(new() { ["Monitor__RetentionDays"] = "14" }));
        await WaitForAsync(async () => await stack.CountAsync("monitor_snapshots WHERE at < now() - interval '14 days'") == 0, "old snapshots pruned");
        Assert.Equal(1, await stack.CountAsync("monitor_snapshots WHERE at < now() - interval '12 hours'"));
        await WaitForAsync(async () => await stack.CountAsync("workers WHERE name LIKE '%long-ago'") == 0, "old workers pruned");
        Assert.Equal(1, await stack.CountAsync("workers WHERE name = 'stopped-yesterday'"));
        Assert.Equal(0, await stack.CountAsync("monitor_alerts WHERE subject = 'old'"));
        Assert.Equal(1, await stack.CountAsync("monitor_alerts WHERE subject = 'open'"));
    }

    [Fact]
    public async Task The_monitor_api_shows_paused_queues_and_answers_bad_input_with_a_problem_naming_the_field()
    {
        using (var none = await stack.Http.GetAsync("/api/v1/stats")) await none.AssertProblemAsync(HttpStatusCode.NotFound);
        var empty = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/snapshots", Json);
        Assert.Equal(0, empty.GetProperty("items").GetArrayLength());
        Assert.Equal(10, empty.GetProperty("stepSeconds").GetInt32()); // an hour in 360 points

        foreach (var (query, field) in new[]
        {
            ("snapshots?from=yesterday", "from"), ("snapshots?to=2026-13-01T00:00:00Z", "to"),
            ("snapshots?from=2026-12-07T05:00:00Z&to=2026-12-07T04:00:00Z", "from"),
            ("snapshots?step=0", "step"), ("snapshots?step=-5", "step"), ("snapshots?step=1.5", "step"),
            ("snapshots?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&step=60", "step"),
            ("alerts?active=maybe", "active"),
        })
        {
            using var response = await stack.Http.GetAsync($"/api/v1/{query}");
            var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.False(string.IsNullOrEmpty(problem.FieldError(field)), query);
        }

        // Paused: every online worker consuming the queue says so; a stopped one doesn't count.
        await UpsertWorkerAsync("p1", DateTimeOffset.UtcNow, Stats(), queues: """[{"name":"both","concurrency":1,"prefetch":4,"paused":true},{"name":"half","concurrency":1,"prefetch":4,"paused":true}]""");
        await UpsertWorkerAsync("p2", DateTimeOffset.UtcNow, Stats(), queues: """[{"name":"both","concurrency":1,"prefetch":4,"paused":true},{"name":"half","concurrency":1,"prefetch":4,"paused":false}]""");
        await UpsertWorkerAsync("p3", DateTimeOffset.UtcNow, Stats(), stoppedAgo: TimeSpan.Zero, queues: """[{"name":"both","concurrency":1,"prefetch":4,"paused":false}]""");
        var queues = (await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/queues", Json)).GetProperty("items").EnumerateArray()
            .ToDictionary(q => q.GetProperty("name").GetString()!, q => q.GetProperty("paused").GetBoolean());
        Assert.Equal((true, false), (queues["both"], queues["half"]));

        var alerts = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/alerts?active=true", Json);
        Assert.Equal(0, alerts.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_bad_monitor_setting_stops_the_scheduler_at_start_up()
    {
        var env = SchedulerEnvironment(new() { ["Monitor__SnapshotSeconds"] = "0" });
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", env, waitReady: false);
        await scheduler.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, scheduler.ExitCode);
        Assert.Contains("SnapshotSeconds", scheduler.Output, StringComparison.Ordinal);
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

    private static string Stats(params (string Name, long Started, long Succeeded, long Failed, long Retried, long InBucket5)[] names) =>
        JsonSerializer.Serialize(names.ToDictionary(n => n.Name, n =>
        {
            var buckets = new long[17];
            buckets[5] = n.InBucket5; // 20-50 ms
            return new { started = n.Started, succeeded = n.Succeeded, failed = n.Failed, retried = n.Retried, runMs = buckets, waitMs = buckets };
        }));

    private async Task UpsertWorkerAsync(
        string name, DateTimeOffset startedAt, string stats, TimeSpan? heartbeatAgo = null, TimeSpan? stoppedAgo = null, string queues = "[]")
    {
        await stack.ExecuteAsync(
            """
            INSERT INTO workers (name, host, pid, version, queues, processed, succeeded, failed, retried, stats, started_at, heartbeat_at, heartbeat_seconds, stopped_at)
            VALUES ($1, 'test', 1, 'test', $2::jsonb, 0, 0, 0, 0, $3::jsonb, $4, now() - $5::interval, 1, now() - $6::interval)
            ON CONFLICT (name) DO UPDATE SET stats = excluded.stats, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = excluded.stopped_at
            """,
            name, queues, stats, startedAt, heartbeatAgo ?? TimeSpan.Zero, (object?)stoppedAgo ?? DBNull.Value);
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
        await WaitForAsync(async () =>
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

    private async Task<JsonElement> WaitForAlertAsync(string kind, string subject, bool active)
    {
        JsonElement found = default;
        await WaitForAsync(async () =>
        {
            var alerts = await stack.Http.GetFromJsonAsync<JsonElement>($"/api/v1/alerts?active={(active ? "true" : "false")}", Json);
            found = alerts.GetProperty("items").EnumerateArray()
                .FirstOrDefault(a => a.GetProperty("kind").GetString() == kind && a.GetProperty("subject").GetString() == subject);
            return found.ValueKind == JsonValueKind.Object;
        }, $"{(active ? "an open" : "an ended")} {kind} alert for {subject}");
        return found;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 45)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(seconds), $"No {what} within {seconds} s");
            await Task.Delay(200);
        }
    }
}
