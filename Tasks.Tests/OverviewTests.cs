using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Playwright;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Monitoring;
using Tasks.Tests.Infrastructure;
using Tasks.Web.Dashboard;
using static Microsoft.Playwright.Assertions;

namespace Tasks.Tests;

/// <summary>
/// The Overview with the camera running (a snapshot a second, workers beating every second): charts drawn from the
/// snapshots and switched between ranges, workers online, active alerts and what needs attention, all encoded and
/// under the Content-Security-Policy.
/// </summary>
public sealed class OverviewTests(OverviewTests.Stack stack) : IClassFixture<OverviewTests.Stack>
{
    public sealed class Stack : DashboardStack
    {
        protected override Dictionary<string, string?> Settings => new(base.Settings)
        {
            ["Monitor:SnapshotSeconds"] = "1",
            ["Beat:CheckinIntervalSeconds"] = "1",
            ["Beat:CheckinMisfireThresholdSeconds"] = "1",
            ["Worker:HeartbeatSeconds"] = "1",
        };
    }

    private const string Hostile = "<img src=x onerror=alert(1)>";

    [Fact]
    public async Task The_overview_charts_the_snapshots_and_lists_what_needs_attention_as_text()
    {
        // A worker that went silent an hour ago, named in markup: the camera raises worker_offline for it.
        await stack.ExecuteAsync(
            """
            INSERT INTO workers (name, host, pid, version, queues, processed, succeeded, failed, retried, stats, started_at, heartbeat_at, heartbeat_seconds)
            VALUES ($1, 'gone', 1, 'test', '[]', 0, 0, 0, 0, '{}', now() - interval '2 hours', now() - interval '1 hour', 1)
            """, Hostile);
        var tasks = new List<Guid>();
        for (var i = 0; i < 4; i++) tasks.Add((await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "ok" } })).Id);
        for (var i = 0; i < 2; i++) tasks.Add((await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { failTimes = 5 }, maxAttempts = 1 })).Id);
        foreach (var id in tasks) await stack.Http.WaitForAsync(id, t => t.State is "succeeded" or "failed");
        await WaitForAsync(async () => await stack.CountAsync("monitor_snapshots WHERE (names -> 'demo.fail' ->> 'failed')::bigint > 0") > 0
            && await stack.CountAsync("monitor_alerts WHERE kind = 'worker_offline' AND subject = $1 AND ended_at IS NULL", Hostile) > 0,
            "a snapshot with demo.fail's failures and the offline worker's alert");

        var page = await stack.Admin.NewPageAsync();
        var violations = new List<string>();
        page.Console += (_, message) => { if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) violations.Add(message.Text); };
        var dialogs = DashboardStack.DismissDialogs(page);
        await page.GotoAsync("/");

        // The last hour by default, in steps of 10 s, drawn on canvases: the same points as the snapshots API's.
        var charts = page.Locator("#charts");
        await Expect(charts).ToHaveAttributeAsync("data-range", "hour");
        await Expect(page.Locator("#throughput-chart canvas")).ToBeVisibleAsync();
        await Expect(page.Locator("#failures-chart canvas")).ToBeVisibleAsync();
        var hour = await SameAsApiAsync(page, 10);
        Assert.True(hour.Succeeded >= 4 && hour.Failed >= 2, $"the hour's snapshots count {hour.Succeeded} succeeded and {hour.Failed} failed");

        // The switch, by keyboard (radio buttons: an arrow moves and selects), then by a click.
        await page.GetByLabel("Last hour").FocusAsync();
        await page.Keyboard.PressAsync("ArrowRight");
        await Expect(charts).ToHaveAttributeAsync("data-range", "day");
        await SameAsApiAsync(page, 240);
        await page.GetByText("Last week", new() { Exact = true }).ClickAsync();
        await Expect(charts).ToHaveAttributeAsync("data-range", "week");
        await SameAsApiAsync(page, 1680);

        // Workers online as the API counts them; the silent one is not among them.
        var workers = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/workers", ApiExtensions.Json);
        var online = workers.GetProperty("items").EnumerateArray().Count(w => w.GetProperty("state").GetString() == "online");
        Assert.True(online >= 1);
        await Expect(page.Locator("#workers-online-count")).ToHaveTextAsync(online.ToString(CultureInfo.InvariantCulture));
        await Expect(page.Locator("#workers-online li")).ToHaveCountAsync(online);

        // The alert, the failing name and the offline worker, the markup shown as text.
        await Expect(page.Locator("#alerts tr").Filter(new() { HasText = Hostile })).ToContainTextAsync("worker_offline");
        await Expect(page.Locator("#attention li.failing").Filter(new() { HasText = "demo.fail" })).ToContainTextAsync("failed");
        await Expect(page.Locator("#attention li.offline")).ToContainTextAsync(Hostile);
        Assert.Equal(0, await page.Locator("main img").CountAsync());

        // Each section refreshes itself through htmx, without a reload.
        await page.WaitForResponseAsync(r => r.Url.Contains("handler=Attention", StringComparison.Ordinal));
        await page.WaitForResponseAsync(r => r.Url.Contains("handler=Alerts", StringComparison.Ordinal));
        await Expect(page.Locator("#attention li.offline")).ToContainTextAsync(Hostile);
        await page.GetByText("Last hour", new() { Exact = true }).ClickAsync();
        await Expect(charts).ToHaveAttributeAsync("data-range", "hour");
        await DashboardStack.ScreenshotAsync(page, "overview-monitor");
        Assert.Empty(violations);
        Assert.Empty(dialogs);
        await page.CloseAsync(); // its polling would fill the cache the next test looks at
    }

    [Fact]
    public async Task The_cached_chart_is_dropped_by_the_tag_the_actions_remove()
    {
        // The app's own cache and services, with a refresh long enough that only the tag can drop the entry.
        await using var scope = stack.Web.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        var overview = new OverviewCache(services.GetRequiredService<HybridCache>(), services.GetRequiredService<IServiceScopeFactory>(),
            TimeProvider.System, Options.Create(new DashboardOptions { RefreshSeconds = 300 }));
        var hour = ChartRange.Find("hour")!;
        var before = await overview.ChartAsync(hour, TestContext.Current.CancellationToken);

        await stack.ExecuteAsync(
            """
            INSERT INTO monitor_snapshots (at, interval_seconds, duration_ms, workers_online, workers_offline, workers_stopped, started, succeeded,
                                           failed, retried, outbox_pending, scheduled, workers, states, names, queues, baseline)
            VALUES (date_trunc('second', now()) - interval '30 minutes', 1, 1, 0, 0, 0, 1000, 1000, 0, 0, 0, 0, '[]', '{}', '{}', '{}', '{}')
            ON CONFLICT DO NOTHING
            """);
        Assert.Equal(before.To, (await overview.ChartAsync(hour, TestContext.Current.CancellationToken)).To); // cached: the same read

        await services.GetRequiredService<StateCountsCache>().InvalidateAsync(TestContext.Current.CancellationToken); // what every action calls
        var after = await overview.ChartAsync(hour, TestContext.Current.CancellationToken);
        Assert.Equal(before.Succeeded.Sum() + 1000, after.Succeeded.Sum());
        await services.GetRequiredService<StateCountsCache>().InvalidateAsync(TestContext.Current.CancellationToken); // not for the page's next read
    }

    [Fact]
    public async Task A_cached_query_left_by_the_request_that_started_it_uses_a_context_of_its_own()
    {
        // HybridCache lets a second caller wait on the first one's query after the first has gone: the query must not
        // run on the first request's pooled context, which its end hands to the next request while the query runs.
        var ct = TestContext.Current.CancellationToken;
        await stack.Web.Services.GetRequiredService<StateCountsCache>().InvalidateAsync(ct);
        await using var locker = stack.OpenDatabase();
        await using var lockConn = await locker.OpenConnectionAsync(ct);
        await using var lockTx = await lockConn.BeginTransactionAsync(ct);
        await using (var lockCmd = new NpgsqlCommand("LOCK TABLE monitor_snapshots IN ACCESS EXCLUSIVE MODE", lockConn, lockTx))
            await lockCmd.ExecuteNonQueryAsync(ct); // the chart's query waits here until the lock goes

        var hour = ChartRange.Find("hour")!;
        using var leaving = new CancellationTokenSource();
        var first = stack.Web.Services.CreateAsyncScope();
        var firstContext = first.ServiceProvider.GetRequiredService<TasksDbContext>();
        var firstRead = first.ServiceProvider.GetRequiredService<OverviewCache>().ChartAsync(hour, leaving.Token).AsTask();
        await WaitForAsync(async () => await stack.CountAsync("pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%monitor_snapshots%'") > 0,
            "the chart's query waiting on the lock");
        await using var second = stack.Web.Services.CreateAsyncScope();
        var secondRead = second.ServiceProvider.GetRequiredService<OverviewCache>().ChartAsync(hour, ct).AsTask();

        await leaving.CancelAsync(); // the first request goes, and its context back to the pool
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => firstRead);
        await first.DisposeAsync();
        var next = new List<AsyncServiceScope>();
        try
        {
            TasksDbContext? reused = null;
            for (var i = 0; i < 1000 && reused is null; i++)
            {
                next.Add(stack.Web.Services.CreateAsyncScope());
                var context = next[^1].ServiceProvider.GetRequiredService<TasksDbContext>();
                if (ReferenceEquals(context, firstContext)) reused = context;
            }
            Assert.NotNull(reused); // the next request that gets it
            Assert.Equal(1, await reused.Database.SqlQueryRaw<int>("SELECT 1 AS \"Value\"").SingleAsync(ct));
        }
        finally
        {
            foreach (var scope in next) await scope.DisposeAsync();
        }

        await lockTx.RollbackAsync(ct);
        Assert.Equal("hour", (await secondRead).Range);
    }

    [Fact]
    public async Task Without_a_management_url_the_queues_page_says_so_and_nothing_is_alerted()
    {
        // This stack's scheduler has no RabbitMq:ManagementUrl: the camera reads no queues, and that is no failure.
        var page = await stack.Viewer.NewPageAsync();
        await page.GotoAsync("/queues");
        await Expect(page.Locator("#queues-status")).ToContainTextAsync("only when RabbitMq:ManagementUrl is set");
        var alerts = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/alerts", ApiExtensions.Json, TestContext.Current.CancellationToken);
        Assert.DoesNotContain(alerts.GetProperty("items").EnumerateArray(), a => a.GetProperty("kind").GetString() == AlertKinds.BrokerUnreadable);
        await page.CloseAsync();
    }

    [Fact]
    public async Task A_range_the_charts_do_not_know_is_a_problem_naming_the_field()
    {
        var page = await stack.Viewer.NewPageAsync();
        var answer = await page.APIRequest.GetAsync("/?handler=Series&range=year");
        Assert.Equal(400, answer.Status);
        Assert.StartsWith("application/problem+json", answer.Headers["content-type"], StringComparison.Ordinal);
        var problem = JsonDocument.Parse(await answer.TextAsync()).RootElement;
        Assert.True(problem.GetProperty("errors").TryGetProperty("range", out _));
    }

    [Fact]
    public async Task A_series_step_adds_its_snapshots_up_in_the_database()
    {
        // Two snapshots in one 10 s step, two hours back: before this stack's camera took any.
        var ten = TimeSpan.FromSeconds(10).Ticks;
        var step = new DateTimeOffset(DateTimeOffset.UtcNow.AddHours(-2).UtcTicks / ten * ten, TimeSpan.Zero);
        await InsertSnapshotAsync(step.AddSeconds(1), succeeded: 2,
            """{"demo.echo": {"started": 3, "succeeded": 2, "failed": 1, "retried": 0, "runMs": [0, 0, 0, 0, 0, 3], "waitMs": [1]}}""",
            """{"q1": {"depth": 5, "consumers": 0, "publishRate": 2.0, "deliverRate": 0.0}}""");
        await InsertSnapshotAsync(step.AddSeconds(6), succeeded: 4,
            """{"demo.echo": {"started": 4, "succeeded": 4, "failed": 0, "retried": 0, "runMs": [0, 0, 0, 0, 0, 4], "waitMs": [2]}}""",
            """{"q1": {"depth": 9, "consumers": 1, "publishRate": 4.0, "deliverRate": 1.0}}""");

        var range = $"from={Uri.EscapeDataString(step.ToString("O"))}&to={Uri.EscapeDataString(step.AddSeconds(10).ToString("O"))}";
        var series = await stack.Http.GetFromJsonAsync<JsonElement>($"/api/v1/snapshots?{range}&step=10", ApiExtensions.Json);
        var point = Assert.Single(series.GetProperty("items").EnumerateArray());
        Assert.Equal(step, point.GetProperty("at").GetDateTimeOffset());
        Assert.Equal(2, point.GetProperty("snapshots").GetInt32());
        Assert.Equal(6, point.GetProperty("tasks").GetProperty("succeeded").GetInt64());
        var echo = point.GetProperty("names").GetProperty("demo.echo");
        Assert.Equal((7L, 6L, 1L), (echo.GetProperty("started").GetInt64(), echo.GetProperty("succeeded").GetInt64(), echo.GetProperty("failed").GetInt64()));
        Assert.InRange(echo.GetProperty("runP95Ms").GetDouble(), 20, 50); // the summed buckets: all seven in 20–50 ms
        var q1 = point.GetProperty("queues").GetProperty("q1");
        Assert.Equal((9L, 1), (q1.GetProperty("depth").GetInt64(), q1.GetProperty("consumers").GetInt32())); // the step's last
        Assert.Equal((3.0, 0.5), (q1.GetProperty("publishRate").GetDouble(), q1.GetProperty("deliverRate").GetDouble())); // averaged
    }

    private Task InsertSnapshotAsync(DateTimeOffset at, long succeeded, string names, string queues) => stack.ExecuteAsync(
        """
        INSERT INTO monitor_snapshots (at, interval_seconds, duration_ms, workers_online, workers_offline, workers_stopped, started, succeeded,
                                       failed, retried, outbox_pending, scheduled, workers, states, names, queues, baseline)
        VALUES ($1, 1, 1, 1, 0, 0, $2, $2, 0, 0, 0, 0, '[]', '{}', $3::jsonb, $4::jsonb, '{}')
        """, at, succeeded, names, queues);

    /// <summary>
    /// The range the page shows, checked against <c>/api/v1/snapshots</c> for the same from, to and step: as many points.
    /// A snapshot stored between the page's read and the API's changes its step's figures, so a mismatch is looked at
    /// again after the next refresh, a few times.
    /// </summary>
    private async Task<(long Succeeded, long Failed)> SameAsApiAsync(IPage page, int step)
    {
        var charts = page.Locator("#charts");
        await Expect(charts).ToHaveAttributeAsync("data-step", step.ToString(CultureInfo.InvariantCulture));
        var seen = "";
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var from = (await charts.GetAttributeAsync("data-from"))!;
            var to = (await charts.GetAttributeAsync("data-to"))!;
            var points = int.Parse((await charts.GetAttributeAsync("data-points"))!, CultureInfo.InvariantCulture);
            var series = await stack.Http.GetFromJsonAsync<JsonElement>(
                $"/api/v1/snapshots?from={Uri.EscapeDataString(from)}&to={Uri.EscapeDataString(to)}&step={step}", ApiExtensions.Json);
            Assert.Equal(step, series.GetProperty("stepSeconds").GetInt32());
            var items = series.GetProperty("items").EnumerateArray().ToList();
            if (points > 0 && points == items.Count)
                return (items.Sum(p => p.GetProperty("tasks").GetProperty("succeeded").GetInt64()),
                        items.Sum(p => p.GetProperty("tasks").GetProperty("failed").GetInt64()));
            seen += $" {points} vs {items.Count};";
            await Expect(charts).Not.ToHaveAttributeAsync("data-to", to);
        }
        Assert.Fail($"the page's points never matched the API's (page vs API):{seen}");
        return default;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, $"waited {seconds} s for {what}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }
}
