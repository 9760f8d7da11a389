using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The monitor's alerts, pruning and API, with scheduler processes on the stack's database and broker taking a
/// snapshot a second; workers are rows the tests write (<see cref="MonitorRows"/>). The snapshots themselves:
/// <see cref="CameraTests"/>.
/// </summary>
public sealed class MonitorTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>, IAsyncLifetime
{
    private static readonly JsonSerializerOptions Json = ApiExtensions.Json;

    public async ValueTask InitializeAsync() => await stack.ResetMonitorAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task A_queue_with_messages_and_no_consumer_raises_an_alert_that_a_consumer_ends()
    {
        var queue = $"nc-{Guid.NewGuid():N}"[..16];
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", stack.MonitorEnvironment());
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", queue, args = new { } });
        var raised = await stack.WaitForAlertAsync("queue_without_consumers", queue, active: true);
        Assert.Contains("no consumer", raised.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains($"Alert queue_without_consumers raised for {queue}", scheduler.Output, StringComparison.Ordinal);
        var queues = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/queues", Json);
        var listed = queues.GetProperty("items").EnumerateArray().Single(q => q.GetProperty("name").GetString() == queue);
        Assert.Equal((1, 0, false), (listed.GetProperty("depth").GetInt64(), listed.GetProperty("consumers").GetInt32(), listed.GetProperty("paused").GetBoolean()));

        var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue });
        try
        {
            await stack.Http.WaitForStateAsync(task.Id, "succeeded");
            var ended = await stack.WaitForAlertAsync("queue_without_consumers", queue, active: false);
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
        await stack.UpsertWorkerAsync("gone", DateTimeOffset.UtcNow.AddHours(-1), MonitorRows.Stats(), heartbeatAgo: TimeSpan.FromMinutes(1));
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", stack.MonitorEnvironment());
        var raised = await stack.WaitForAlertAsync("worker_offline", "gone", active: true);
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
        await stack.WaitForAlertAsync("worker_offline", "gone", active: false);
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
        await stack.UpsertWorkerAsync("stopped-long-ago", DateTimeOffset.UtcNow.AddDays(-30), MonitorRows.Stats(), heartbeatAgo: TimeSpan.FromDays(20), stoppedAgo: TimeSpan.FromDays(20));
        await stack.UpsertWorkerAsync("offline-long-ago", DateTimeOffset.UtcNow.AddDays(-30), MonitorRows.Stats(), heartbeatAgo: TimeSpan.FromDays(20));
        await stack.UpsertWorkerAsync("stopped-yesterday", DateTimeOffset.UtcNow.AddDays(-2), MonitorRows.Stats(), heartbeatAgo: TimeSpan.FromDays(1), stoppedAgo: TimeSpan.FromDays(1));

        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", stack.MonitorEnvironment(new() { ["Monitor__RetentionDays"] = "14" }));
        await MonitorRows.WaitUntilAsync(async () => await stack.CountAsync("monitor_snapshots WHERE at < now() - interval '14 days'") == 0, "old snapshots pruned");
        Assert.Equal(1, await stack.CountAsync("monitor_snapshots WHERE at < now() - interval '12 hours'"));
        await MonitorRows.WaitUntilAsync(async () => await stack.CountAsync("workers WHERE name LIKE '%long-ago'") == 0, "old workers pruned");
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
        await stack.UpsertWorkerAsync("p1", DateTimeOffset.UtcNow, MonitorRows.Stats(), queues: """[{"name":"both","concurrency":1,"prefetch":4,"paused":true},{"name":"half","concurrency":1,"prefetch":4,"paused":true}]""");
        await stack.UpsertWorkerAsync("p2", DateTimeOffset.UtcNow, MonitorRows.Stats(), queues: """[{"name":"both","concurrency":1,"prefetch":4,"paused":true},{"name":"half","concurrency":1,"prefetch":4,"paused":false}]""");
        await stack.UpsertWorkerAsync("p3", DateTimeOffset.UtcNow, MonitorRows.Stats(), stoppedAgo: TimeSpan.Zero, queues: """[{"name":"both","concurrency":1,"prefetch":4,"paused":false}]""");
        var queues = (await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/queues", Json)).GetProperty("items").EnumerateArray()
            .ToDictionary(q => q.GetProperty("name").GetString()!, q => q.GetProperty("paused").GetBoolean());
        Assert.Equal((true, false), (queues["both"], queues["half"]));

        var alerts = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/alerts?active=true", Json);
        Assert.Equal(0, alerts.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_bad_monitor_setting_stops_the_scheduler_at_start_up()
    {
        var env = stack.MonitorEnvironment(new() { ["Monitor__SnapshotSeconds"] = "0" });
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", env, waitReady: false);
        await scheduler.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, scheduler.ExitCode);
        Assert.Contains("SnapshotSeconds", scheduler.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_backlog_gauges_are_the_state_counts()
    {
        for (var i = 0; i < 3; i++) await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, delaySeconds = 3600 });
        var scheduled = await stack.CountAsync("tasks WHERE state = 'scheduled'");
        Assert.True(scheduled >= 3);
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", stack.MonitorEnvironment());
        using var http = new HttpClient { BaseAddress = scheduler.Address };
        await MonitorRows.WaitUntilAsync(async () => (await http.GetStringAsync("/metrics")).Split('\n')
            .Any(l => l.StartsWith("tasks_scheduled_backlog", StringComparison.Ordinal) && l.EndsWith($" {scheduled}", StringComparison.Ordinal)), $"tasks_scheduled_backlog of {scheduled}");
    }
}
