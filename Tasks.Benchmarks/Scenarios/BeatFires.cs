using System.Net.Http.Json;
using Npgsql;
using Tasks.Benchmarks.Infrastructure;
using Tasks.Core.Auth;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 9. The beat at load: many every-second schedules (1,000; 100 with --quick) on three clustered scheduler
/// processes. Fires per second, fire lag (scheduled time → task committed, p50/p99; target p99 under 1 s), fire
/// times enqueued twice (must be 0: the metric counts fires, the table distinct tasks), and scheduler CPU per fire.
/// No worker: the fires' tasks wait in their queue.
/// </summary>
public static class BeatFires
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var schedules = s.Quick ? 100 : 1_000;
        var seconds = s.Quick ? 10 : 60;
        var result = new ScenarioResult("beat", $"9. Beat ({schedules:N0} every-second schedules, 3 schedulers, {seconds} s)");
        result.Settings["schedules"] = schedules;
        result.Settings["seconds"] = seconds;
        foreach (var (k, v) in s.SchedulerEnvironment) result.Settings[$"scheduler {k}"] = v;
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_beat");
        var hosts = new List<HostProcess>();
        try
        {
            var key = ApiKeys.Generate();
            var env = new Dictionary<string, string>
            {
                ["Auth__BootstrapApiKey"] = key,
                ["ConnectionStrings__Tasks"] = iso.Postgres,
                ["ConnectionStrings__RabbitMq"] = iso.Rabbit.ToString(),
                ["Beat__ThreadCount"] = "20",
            };
            await HostProcess.RunToEndAsync("Tasks.Web", env, "migrate");
            var webPort = HostProcess.FreePort();
            var web = HostProcess.Start("Tasks.Web", webPort, new Dictionary<string, string>(env) { ["Web__Port"] = $"{webPort}" });
            hosts.Add(web);
            await web.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = web.Address };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            for (var i = 0; i < schedules; i++)
                (await http.PostAsJsonAsync("api/v1/schedules", new { name = $"bench-{i:D4}", task = "demo.echo", cron = "* * * * * ?" })).EnsureSuccessStatusCode();

            var schedulers = new List<HostProcess>();
            for (var i = 0; i < 3; i++)
            {
                var port = HostProcess.FreePort();
                var schedulerEnv = new Dictionary<string, string>(env) { ["Health__Port"] = $"{port}" };
                foreach (var (k, v) in s.SchedulerEnvironment) schedulerEnv[k] = v;
                var scheduler = HostProcess.Start("Tasks.Scheduler", port, schedulerEnv);
                hosts.Add(scheduler);
                schedulers.Add(scheduler);
            }
            foreach (var scheduler in schedulers) await scheduler.WaitReadyAsync(TimeSpan.FromSeconds(180)); // 60 s was not enough for three starting at once on a busy 2-core box
            await Task.Delay(TimeSpan.FromSeconds(3)); // past the start-up catch-ups

            await using var db = NpgsqlDataSource.Create(iso.Postgres);
            var from = DateTimeOffset.UtcNow;
            var before = CpuTime.Now(schedulers.Select(p => p.Pid));
            var commitsBefore = await CommitsAsync(db);
            await Task.Delay(TimeSpan.FromSeconds(seconds));
            var to = DateTimeOffset.UtcNow;
            var after = CpuTime.Now(schedulers.Select(p => p.Pid));
            var commits = await CommitsAsync(db) - commitsBefore;
            await Task.Delay(TimeSpan.FromSeconds(3)); // the window's last fires commit

            await using var cmd = db.CreateCommand(
                "SELECT extract(epoch FROM enqueued_at - scheduled_fire_time) FROM tasks WHERE schedule_name IS NOT NULL AND scheduled_fire_time >= $1 AND scheduled_fire_time < $2");
            cmd.Parameters.Add(new NpgsqlParameter { Value = from });
            cmd.Parameters.Add(new NpgsqlParameter { Value = to });
            var lags = new List<double>();
            await using (var reader = await cmd.ExecuteReaderAsync())
                while (await reader.ReadAsync()) lags.Add(Convert.ToDouble(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture) * 1000);
            double counted = 0;
            foreach (var scheduler in schedulers) counted += await FiresCountedAsync(scheduler);
            await using var all = db.CreateCommand("SELECT count(*) FROM tasks WHERE schedule_name IS NOT NULL");
            var stored = (long)(await all.ExecuteScalarAsync())!;

            var window = (to - from).TotalSeconds;
            result.Figures.Add(Figure.One("fires", "fires/s", lags.Count / window));
            result.Figures.Add(Figure.One("expected fires", "fires/s", schedules));
            result.Figures.Add(Figure.One("fire lag p50", "ms", Stats.Percentile(lags, 50)));
            result.Figures.Add(Figure.One("fire lag p99", "ms", Stats.Percentile(lags, 99)));
            result.Figures.Add(Figure.One("fire times enqueued twice", "fires", Math.Max(0, counted - stored)));
            result.Figures.Add(Figure.One("PostgreSQL commits per fire", "commits", commits / (double)Math.Max(1, lags.Count)));
            foreach (var (part, micros) in CpuTime.PerTask(before, after, Math.Max(1, lags.Count), hosts: "schedulers", self: "harness"))
                result.Figures.Add(Figure.One($"CPU per fire: {part}", "µs", micros));
            BenchContext.Log($"beat: {lags.Count / window:0} fires/s of {schedules}, lag p50 {Stats.Percentile(lags, 50):0} ms, p99 {Stats.Percentile(lags, 99):0} ms, counted {counted} vs stored {stored}, {commits / (double)Math.Max(1, lags.Count):0.0} commits per fire");
        }
        finally
        {
            foreach (var host in hosts) await host.DisposeAsync();
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    // Every transaction committed in the benchmark's database, by any session: the schedulers', the relay's, the web app's.
    private static async Task<long> CommitsAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    // tasks_schedule_fires_total summed over every schedule: a fire whose task already existed counts here, not in the table.
    private static async Task<double> FiresCountedAsync(HostProcess scheduler)
    {
        using var http = new HttpClient { BaseAddress = scheduler.Address };
        var text = await http.GetStringAsync("metrics");
        return text.Split('\n').Where(l => l.StartsWith("tasks_schedule_fires_total{", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
    }
}
