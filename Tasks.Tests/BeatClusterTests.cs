using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The beat as operators run it: scheduler processes forming a Quartz cluster on the stack's database, killed,
/// stopped and restarted, with schedules from their configuration and from the API. Every fire is a task row whose
/// id is derived from (schedule, fire time), so the tests read the fires straight from the tasks table.
/// </summary>
public sealed class BeatClusterTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
{
    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..20];

    /// <summary>A scheduler's environment: short check-ins, so a dead scheduler is taken over within about 2 s.</summary>
    private Dictionary<string, string> SchedulerEnvironment(double misfireThresholdSeconds = 10)
    {
        var env = stack.Environment();
        env["Beat__CheckinIntervalSeconds"] = "1";
        env["Beat__CheckinMisfireThresholdSeconds"] = "1";
        env["Beat__MisfireThresholdSeconds"] = misfireThresholdSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["Serilog__MinimumLevel__Override__Tasks.Core.Schedules"] = "Debug"; // a line per fire
        return env;
    }

    /// <summary>
    /// One task per second, none missing, up to <paramref name="until"/>: a fire due just before the schedule was
    /// deleted may still have been on its way then (acquired, not yet run), so the last seconds don't count.
    /// </summary>
    private static void AssertEverySecondOnce(List<(DateTimeOffset FireTime, Guid Id)> all, DateTimeOffset until, int atLeast)
    {
        var fires = all.Where(f => f.FireTime <= until).ToList();
        var seen = string.Join(" ", all.Select(f => f.FireTime.ToString("ss.fff", System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(fires.Count >= atLeast, $"{fires.Count} fires, expected at least {atLeast}: {seen}");
        Assert.Equal(all.Count, all.Select(f => f.FireTime).Distinct().Count()); // no time fired twice
        for (var i = 1; i < fires.Count; i++)
            Assert.True(fires[i].FireTime - fires[i - 1].FireTime == TimeSpan.FromSeconds(1),
                $"gap or overlap between {fires[i - 1].FireTime:HH:mm:ss.fff} and {fires[i].FireTime:HH:mm:ss.fff} (until {until:HH:mm:ss}): {seen}");
    }

    [Fact]
    public async Task Three_schedulers_fire_an_every_second_schedule_once_per_second_for_20_seconds()
    {
        var env = SchedulerEnvironment();
        await using var a = await HostProcess.StartAsync("Tasks.Scheduler", env);
        await using var b = await HostProcess.StartAsync("Tasks.Scheduler", env);
        await using var c = await HostProcess.StartAsync("Tasks.Scheduler", env);
        var name = NewName("three");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", cron = "* * * * * ?" });
        await Task.Delay(TimeSpan.FromSeconds(20));
        var deletedAt = DateTimeOffset.UtcNow;
        await stack.Http.DeleteScheduleAsync(name);
        await Task.Delay(2000); // a fire already under way commits

        var fires = await stack.FiresAsync(name);
        AssertEverySecondOnce(fires, until: deletedAt.AddSeconds(-3), atLeast: 15);
        // Each fire counted once, by the scheduler that fired it, with its lag.
        double counted = 0, lags = 0;
        foreach (var s in new[] { a, b, c })
        {
            counted += await s.ScheduleMetricAsync("tasks_schedule_fires_total", name);
            lags += await s.ScheduleMetricAsync("tasks_schedule_fire_lag_seconds_count", name);
        }
        Assert.Equal((fires.Count, fires.Count), ((int)counted, (int)lags));
    }

    [Fact]
    public async Task A_scheduler_killed_mid_run_loses_and_doubles_no_fire()
    {
        var env = SchedulerEnvironment(misfireThresholdSeconds: 10); // well above the ~2 s a dead scheduler is noticed in
        var schedulers = new List<HostProcess>();
        try
        {
            for (var i = 0; i < 3; i++) schedulers.Add(await HostProcess.StartAsync("Tasks.Scheduler", env));
            var name = NewName("kill");
            await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", cron = "* * * * * ?" });
            await stack.WaitForFiresAsync(name, f => f.Count >= 5);

            // The one that fired last is the likeliest to hold the trigger now.
            var victim = schedulers.MaxBy(s => s.Output.LastIndexOf($"Schedule {name} fired", StringComparison.Ordinal) >= 0
                ? s.Output.Split('\n').LastOrDefault(l => l.Contains($"Schedule {name} fired", StringComparison.Ordinal)) : "")!;
            var killedAt = DateTimeOffset.UtcNow;
            victim.Kill();
            await stack.WaitForFiresAsync(name, f => f.Count > 0 && f[^1].FireTime > killedAt.AddSeconds(10), seconds: 40);
            var deletedAt = DateTimeOffset.UtcNow;
            await stack.Http.DeleteScheduleAsync(name);
            await Task.Delay(2000);

            AssertEverySecondOnce(await stack.FiresAsync(name), until: deletedAt.AddSeconds(-3), atLeast: 12);
        }
        finally
        {
            foreach (var s in schedulers) await s.DisposeAsync();
        }
    }

    [Fact]
    public async Task All_schedulers_down_30_seconds_then_one_started_fireOnce_catches_up_once_and_skip_not_at_all()
    {
        // Once a minute, at a second that comes while no scheduler runs: the next regular time is a minute later, after
        // the test has looked, so every fire it sees after the stop is a catch-up run.
        var env = SchedulerEnvironment(misfireThresholdSeconds: 5);
        var once = NewName("once");
        var skip = NewName("skip");
        var everySecond = NewName("burst");
        DateTimeOffset stoppedAt, startedAt, missed;
        var log = "";
        await using (var first = await HostProcess.StartAsync("Tasks.Scheduler", env))
        {
            missed = DateTimeOffset.UtcNow.AddSeconds(20);
            missed = new DateTimeOffset(missed.Year, missed.Month, missed.Day, missed.Hour, missed.Minute, missed.Second, TimeSpan.Zero);
            var cron = $"{missed.Second} * * * * ?";
            await stack.Http.CreateScheduleAsync(new { name = once, task = "demo.echo", cron, misfire = "fireOnce" });
            await stack.Http.CreateScheduleAsync(new { name = skip, task = "demo.echo", cron, misfire = "skip" });
            await stack.Http.CreateScheduleAsync(new { name = everySecond, task = "demo.echo", cron = "* * * * * ?" });
            await first.TerminateAsync();
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
            stoppedAt = DateTimeOffset.UtcNow;
        }
        Assert.True(missed > stoppedAt, "the scheduler took too long to stop: the missed time is not in the downtime");
        await Task.Delay(stoppedAt.AddSeconds(30) - DateTimeOffset.UtcNow);
        startedAt = DateTimeOffset.UtcNow;
        await using (var second = await HostProcess.StartAsync("Tasks.Scheduler", env))
        {
            await stack.WaitForFiresAsync(once, f => f.Count > 0);
            await Task.Delay(TimeSpan.FromSeconds(3)); // time enough for skip to do wrong, if it would
            await stack.Http.DeleteScheduleAsync(once);
            await stack.Http.DeleteScheduleAsync(skip);
            await stack.Http.DeleteScheduleAsync(everySecond);
            Assert.Equal(1, await second.ScheduleMetricAsync("tasks_schedule_misfires_total", once));
            log = string.Join('\n', second.Output.Split('\n').Where(l => l.Contains(once, StringComparison.Ordinal) || l.Contains(skip, StringComparison.Ordinal)).Take(12));
        }
        Assert.True(DateTimeOffset.UtcNow < missed.AddSeconds(60), "the test ran past the next regular time");

        var onceFires = await stack.FiresAsync(once);
        // One catch-up run, for the time it missed (so its id is the one that fire would have had), enqueued after the restart.
        var catchUp = Assert.Single(onceFires);
        Assert.Equal(missed, catchUp.FireTime);
        Assert.True((await stack.Http.GetTaskAsync(catchUp.Id)).EnqueuedAt >= startedAt, log);
        Assert.Empty(await stack.FiresAsync(skip));
        // An every-second schedule gets one run for its 30 missed seconds, not 30.
        var down = (await stack.FiresAsync(everySecond)).Count(f => f.FireTime > stoppedAt && f.FireTime < startedAt);
        Assert.True(down <= 1, $"{down} fires for the 30 s every scheduler was down");
        Assert.Contains("misfired", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fire_while_the_broker_is_down_is_delivered_once_it_returns()
    {
        await using var proxy = new TcpProxy(stack.Rabbit.Port);
        var env = SchedulerEnvironment();
        env["ConnectionStrings__RabbitMq"] = new UriBuilder(stack.Rabbit) { Port = proxy.Port }.Uri.ToString();
        env["Tasks__PublishTimeoutSeconds"] = "1";
        env["Relay__PendingGraceSeconds"] = "1";
        var worker = await stack.StartWorkerAsync(new());
        try
        {
            await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", env);
            proxy.Stop();
            var name = NewName("nobroker");
            await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", cron = "* * * * * ?" });
            var fires = await stack.WaitForFiresAsync(name, f => f.Count >= 2);
            await stack.Http.DeleteScheduleAsync(name);
            Assert.Equal("pending", (await stack.Http.GetTaskAsync(fires[0].Id)).State); // committed, not published

            proxy.Start();
            foreach (var (_, id) in await stack.FiresAsync(name))
                await stack.Http.WaitForStateAsync(id, "succeeded", seconds: 60);
        }
        finally
        {
            await worker.StopAsync();
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task Config_schedules_are_added_changed_and_removed_to_match_at_each_start()
    {
        var env = SchedulerEnvironment();
        var first = new Dictionary<string, string>(env)
        {
            ["Schedules__0__name"] = "cfg-a", ["Schedules__0__task"] = "demo.echo", ["Schedules__0__intervalSeconds"] = "3600",
            ["Schedules__1__name"] = "cfg-b", ["Schedules__1__task"] = "demo.sleep", ["Schedules__1__args__seconds"] = "2",
            ["Schedules__1__cron"] = "0 0 5 * * ?", ["Schedules__1__timeZone"] = "America/New_York",
        };
        await using (var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", first))
        {
            var a = await stack.Http.GetScheduleAsync("cfg-a");
            var b = await stack.Http.GetScheduleAsync("cfg-b");
            Assert.Equal(("config", 3600), (a.Source, a.IntervalSeconds));
            Assert.Equal(("config", "America/New_York", 2), (b.Source, b.TimeZone, b.Args!.Value.GetProperty("seconds").GetInt32()));

            // The API may pause and trigger a config schedule, not change or delete it.
            using var put = await stack.Http.PutAsJsonAsync("/api/v1/schedules/cfg-a", new { task = "demo.echo", intervalSeconds = 60 }, ApiExtensions.Json);
            Assert.Contains("config", (await put.AssertProblemAsync(HttpStatusCode.Conflict)).GetProperty("detail").GetString(), StringComparison.Ordinal);
            using var delete = await stack.Http.DeleteAsync("/api/v1/schedules/cfg-a");
            await delete.AssertProblemAsync(HttpStatusCode.Conflict);
            using var pause = await stack.Http.PostAsync("/api/v1/schedules/cfg-a/pause", null);
            Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
            using var trigger = await stack.Http.PostAsync("/api/v1/schedules/cfg-b/trigger", null);
            Assert.Equal(HttpStatusCode.Accepted, trigger.StatusCode);
        }

        var second = new Dictionary<string, string>(env)
        {
            ["Schedules__0__name"] = "cfg-a", ["Schedules__0__task"] = "demo.echo", ["Schedules__0__intervalSeconds"] = "1800",
            ["Schedules__1__name"] = "cfg-c", ["Schedules__1__task"] = "demo.echo", ["Schedules__1__cron"] = "0 15 * * * ?",
        };
        await using (var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", second))
        {
            var a = await stack.Http.GetScheduleAsync("cfg-a");
            Assert.Equal(1800, a.IntervalSeconds);
            Assert.True(a.Paused); // paused by hand before the change: still paused
            using var b = await stack.Http.GetAsync("/api/v1/schedules/cfg-b");
            await b.AssertProblemAsync(HttpStatusCode.NotFound);
            Assert.Equal("config", (await stack.Http.GetScheduleAsync("cfg-c")).Source);
        }

        await using (var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", env))
        {
            var list = await stack.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/v1/schedules", ApiExtensions.Json);
            Assert.DoesNotContain(list.GetProperty("items").EnumerateArray(), s => s.GetProperty("source").GetString() == "config");
        }
    }

    [Theory]
    [InlineData("Schedules__0__cron", "0 0 25 * * ?", "Schedules:0:cron")]
    [InlineData("Beat__ThreadCount", "0", "ThreadCount")]
    [InlineData("Beat__MisfireThresholdSeconds", "0", "MisfireThresholdSeconds")]
    public async Task A_bad_schedule_or_beat_setting_stops_the_scheduler_at_start_up(string key, string value, string named)
    {
        var env = SchedulerEnvironment();
        env["Schedules__0__name"] = "bad-config";
        env["Schedules__0__task"] = "demo.echo";
        env["Schedules__0__cron"] = "0 0 3 * * ?";
        env[key] = value;
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", env, waitReady: false);
        await scheduler.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.NotEqual(0, scheduler.ExitCode);
        Assert.Contains(named, scheduler.Output, StringComparison.Ordinal);
        using var stored = await stack.Http.GetAsync("/api/v1/schedules/bad-config");
        await stored.AssertProblemAsync(HttpStatusCode.NotFound);
    }
}
