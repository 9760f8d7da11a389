using System.Text.Json;
using Tasks.Benchmarks;
using Tasks.Benchmarks.Infrastructure;
using Tasks.Benchmarks.Scenarios;

// The benchmark harness (issue 6): every scenario against the throwaway servers named by TASKS_TEST_*, then a
// table on stdout and bench-results.json. Run it through ./dev bench [--quick], or after `./dev servers`.
var settings = BenchSettings.Parse(args);
var servers = Servers.FromEnvironment() ?? throw new InvalidOperationException(
    "The benchmark needs RabbitMQ and PostgreSQL: run it with ./dev bench, or start ./dev servers and export " +
    "TASKS_TEST_POSTGRES, TASKS_TEST_RABBITMQ and TASKS_TEST_RABBITMQ_MANAGEMENT.");
var ctx = new BenchContext(servers, settings);
var (pgVersion, rabbitVersion) = await Report.VersionsAsync(servers);
var machine = Report.Machine(pgVersion, rabbitVersion);
var postgres = await PostgresSettings.ReadAsync(servers.Postgres, settings.PostgresSet);
BenchContext.Log($"{(settings.Quick ? "quick" : "full")} run, {settings.Runs} run(s) per figure; {machine.ToJsonString()}; {postgres.Line()}");

async Task Scenario(int number, string key, string title, Func<Task> run)
{
    if (!settings.IsSelected(number)) return;
    BenchContext.Log($"scenario {number}: {title}");
    try
    {
        await run();
    }
    catch (Exception e)
    {
        BenchContext.Log($"scenario {number} failed: {e}");
        ctx.Results.Add(new ScenarioResult(key, title) { Error = $"{e.GetType().Name}: {e.Message}" });
    }
}

await Scenario(1, "broker", "1. Broker ceiling", async () => ctx.Results.Add(await BrokerCeiling.RunAsync(ctx)));
await Scenario(2, "bus", "2. Bus ceiling", async () => ctx.Results.Add(await BusCeiling.RunAsync(ctx)));
if (settings.IsSelected(3) || settings.IsSelected(5) || settings.IsSelected(6))
    await Scenario(settings.IsSelected(3) ? 3 : settings.IsSelected(5) ? 5 : 6, "endToEnd", "3/5/6. Pipeline", () => Pipeline.RunAsync(ctx));
await Scenario(4, "http", "4. HTTP enqueue", async () => ctx.Results.Add(await HttpEnqueue.RunAsync(ctx)));
await Scenario(7, "query", "7. Query at scale", async () => ctx.Results.Add(await QueryAtScale.RunAsync(ctx)));
await Scenario(8, "hangfire", "8. Hangfire peer", async () => ctx.Results.Add(await HangfirePeer.RunAsync(ctx)));
await Scenario(8, "celery", "8. Celery peer", async () => ctx.Results.Add(await CeleryPeer.RunAsync(ctx)));
await Scenario(9, "beat", "9. Beat", async () => ctx.Results.Add(await BeatFires.RunAsync(ctx)));
await Scenario(10, "camera", "10. Camera", async () => ctx.Results.Add(await CameraAtScale.RunAsync(ctx)));
await Scenario(11, "heartbeat", "11. Worker heartbeat", async () => ctx.Results.Add(await WorkerHeartbeats.RunAsync(ctx)));
await Scenario(12, "dashboard", "12. Dashboard pages", async () => ctx.Results.Add(await DashboardAtScale.RunAsync(ctx)));

var order = new[] { "broker", "bus", "endToEnd", "endToEndOneMessagePerTask", "http", "latency", "scaleOut", "memory", "query", "hangfire", "celery", "beat", "camera", "heartbeat", "dashboard" };
var results = ctx.Results.OrderBy(r => Array.IndexOf(order, r.Key)).ToList();
var json = Report.Json(settings, machine, postgres, results);
await File.WriteAllTextAsync(settings.Output, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));

Console.WriteLine();
Console.WriteLine($"Machine: {machine["cores"]} cores, {machine["cpu"]}, {machine["os"]}; {machine["dotnet"]}; {postgres.Line()}; RabbitMQ {rabbitVersion}");
Console.WriteLine(Report.Table(results));
Console.WriteLine($"e2e / bus: {json["e2eToBusRatio"]}   e2e / broker: {json["e2eToBrokerRatio"]}   e2e / Hangfire: {json["e2eToHangfireRatio"]}   e2e / Celery: {json["e2eToCeleryRatio"]}");
Console.WriteLine("Targets (this run's medians):\n" + Targets.Lines(json["targets"]!.AsArray()));
Console.WriteLine($"Written to {Path.GetFullPath(settings.Output)}");
return results.Any(r => r.Error is not null) ? 1 : 0;
