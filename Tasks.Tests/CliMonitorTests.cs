using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tasks.Core.Auth;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// <c>tasksctl workers</c>, <c>ping</c>, <c>shutdown</c>, <c>queues</c> and <c>stats</c> run as a process against a
/// stack whose scheduler takes a snapshot every 2 s, with workers run as their own processes (docs/cli.md).
/// </summary>
public sealed class CliMonitorTests(CliMonitorTests.Stack stack) : IClassFixture<CliMonitorTests.Stack>, IDisposable
{
    public sealed class Stack : TasksStack
    {
        protected override bool StartWorker => false;

        protected override Dictionary<string, string?> Settings => new(base.Settings)
        {
            ["Monitor:SnapshotSeconds"] = "2",
            ["RabbitMq:ManagementUrl"] = Servers.Management.ToString(),
        };
    }

    private readonly Tasksctl _cli = new();

    private string Url => stack.WebAddress.ToString();

    private Task<Tasksctl.Outcome> Run(params string[] args) => _cli.RunAsync([.. args, "--url", Url, "--key", stack.ApiKey]);

    [Fact]
    public async Task Workers_queues_and_stats_show_what_the_api_shows()
    {
        var (name, queue) = (Unique("w"), Unique("q"));
        await using var worker = await StartWorkerAsync(name, queue);
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "counted" }, queue });
        await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        // A beat may count the task before it leaves the running set: wait for the beat that shows both done.
        await UntilAsync($"/api/v1/workers/{name}", w => w.GetProperty("processed").GetInt64() == 1 && w.GetProperty("running").GetArrayLength() == 0);

        await AssertShowsWhatTheApiShowsAsync("/api/v1/workers", "workers");
        await AssertShowsWhatTheApiShowsAsync($"/api/v1/workers/{name}", "workers", name);
        var plain = await Run("workers");
        Assert.Contains(Lines(plain.StandardOutput), l => l.StartsWith($"{name}\tonline\t{queue}:", StringComparison.Ordinal) && l.Contains("\t0\t1\t0\t", StringComparison.Ordinal));
        Assert.Contains($"host\t{Environment.MachineName}", (await Run("workers", name)).StandardOutput);

        // The queue is in a snapshot once the broker's management API has seen its consumer.
        await UntilAsync("/api/v1/queues", q => q.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("name").GetString() == queue && i.GetProperty("consumers").ValueKind == JsonValueKind.Number));
        await AssertShowsWhatTheApiShowsAsync("/api/v1/queues", "queues");
        await PlainAsAsync("/api/v1/queues", api =>
        {
            var item = api.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("name").GetString() == queue);
            return $"{queue}\t{item.GetProperty("depth")}\t{item.GetProperty("consumers")}\t";
        }, "queues");

        await UntilAsync("/api/v1/stats", s => s.GetProperty("workers").GetProperty("online").GetInt32() == 1);
        await AssertShowsWhatTheApiShowsAsync("/api/v1/stats", "stats");
        var stats = await PlainAsAsync("/api/v1/stats", api =>
        {
            var workers = api.GetProperty("workers");
            return $"workers\t{workers.GetProperty("online")} online, {workers.GetProperty("offline")} offline, {workers.GetProperty("stopped")} stopped";
        }, "stats");
        Assert.Contains("succeeded", Lines(stats).Single(l => l.StartsWith("tasks\t", StringComparison.Ordinal)));

        await AssertFails(8, "There is no worker", "workers", Unique("nobody"), "--url", Url, "--key", stack.ApiKey);
    }

    [Fact]
    public async Task Ping_lists_a_running_worker_queues_pause_and_resume_and_shutdown_stops_it()
    {
        var (name, queue) = (Unique("w"), Unique("q"));
        await using var worker = await StartWorkerAsync(name, queue);

        Assert.Contains(Json(await Run("ping", "--timeout-ms", "2000", "--json")).GetProperty("items").EnumerateArray(), p => p.GetProperty("name").GetString() == name);
        Assert.Contains(Lines((await Run("ping", "--timeout-ms", "2000")).StandardOutput), l => l.StartsWith($"{name}\t", StringComparison.Ordinal));

        var paused = Json(await Run("queues", "pause", queue, "--worker", name, "--timeout-ms", "5000", "--json"));
        Assert.Equal((name, queue), (paused.GetProperty("name").GetString(), paused.GetProperty("queue").GetString()));
        var resumed = await Run("queues", "resume", queue, "--worker", name, "--timeout-ms", "5000");
        Assert.True(resumed.ExitCode == 0, resumed.StandardError);
        Assert.Contains($"queue {queue} resumed", resumed.StandardError);
        await AssertFails(8, "not consumed", "queues", "pause", Unique("notmine"), "--worker", name, "--timeout-ms", "5000", "--url", Url, "--key", stack.ApiKey);

        var shutdown = await Run("shutdown", name, "--timeout-ms", "5000");
        Assert.True(shutdown.ExitCode == 0, shutdown.StandardError);
        Assert.Contains("stopping gracefully", shutdown.StandardError);
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, worker.ExitCode);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Json(await Run("workers", name, "--json")).GetProperty("state").GetString() != "stopped")
            Assert.True(DateTime.UtcNow < deadline, $"{name} is not shown stopped");

        await AssertFails(8, "No worker named", "shutdown", Unique("nobody"), "--timeout-ms", "300", "--url", Url, "--key", stack.ApiKey);
    }

    [Fact]
    public async Task A_read_key_sees_workers_and_queues_but_gets_exit_7_on_an_action()
    {
        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        var key = reader.DefaultRequestHeaders.Authorization!.Parameter!;
        Assert.Equal(0, (await _cli.RunAsync("workers", "--json", "--url", Url, "--key", key)).ExitCode);
        Assert.Equal(0, (await _cli.RunAsync("queues", "--json", "--url", Url, "--key", key)).ExitCode);
        foreach (var action in new[] { new[] { "ping" }, ["shutdown", "w"], ["queues", "pause", "default", "--worker", "w"], ["queues", "resume", "default", "--worker", "w"] })
            await AssertFails(7, "'admin' scope", [.. action, "--url", Url, "--key", key]);
    }

    [Fact]
    public async Task Stats_watch_stops_on_ctrl_c_and_says_how_to_resume()
    {
        await UntilAsync("/api/v1/stats", _ => true);
        await AssertFails(2, "--watch", "stats", "--watch", "--json", "--url", Url, "--key", stack.ApiKey);

        var run = await _cli.InterruptAsync("Watching stats", "stats", "--watch", "--url", Url, "--key", stack.ApiKey);

        Assert.Equal(130, run.ExitCode);
        Assert.Contains("tasksctl stats --watch", run.StandardError);
        Assert.Contains("snapshot\t", run.StandardOutput);
    }

    /// <summary>
    /// <c>tasksctl ... --json</c> prints what the API answers: asked between two answers of the API that agree (the
    /// figures move with each heartbeat and snapshot), it must agree with them too.
    /// </summary>
    private async Task AssertShowsWhatTheApiShowsAsync(string path, params string[] args)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var before = JsonNode.Parse(await stack.Http.GetStringAsync(path));
            var shown = JsonNode.Parse(Json(await Run([.. args, "--json"])).GetRawText());
            var after = JsonNode.Parse(await stack.Http.GetStringAsync(path));
            if (!JsonNode.DeepEquals(before, after)) continue;
            Assert.True(JsonNode.DeepEquals(before, shown), $"tasksctl {string.Join(' ', args)} --json:\n{shown}\nthe API:\n{before}");
            return;
        }
        Assert.Fail($"{path} changed between every two answers");
    }

    /// <summary>
    /// <c>tasksctl ARGS</c> as a table holds the line <paramref name="expected"/> makes of the API's answer, asked just
    /// before and after it (a snapshot comes every 2 s, and the class's earlier tests leave stopped and offline workers).
    /// </summary>
    private async Task<string> PlainAsAsync(string path, Func<JsonElement, string> expected, params string[] args)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var before = await stack.Http.GetStringAsync(path);
            var run = await Run(args);
            Assert.True(run.ExitCode == 0, run.StandardError);
            if (before != await stack.Http.GetStringAsync(path)) continue;
            Assert.Contains(expected(JsonDocument.Parse(before).RootElement), run.StandardOutput);
            return run.StandardOutput;
        }
        Assert.Fail($"{path} changed between every two answers");
        return "";
    }

    private async Task UntilAsync(string path, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await stack.Http.GetAsync(path);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && condition(JsonDocument.Parse(text).RootElement)) return;
            Assert.True(DateTime.UtcNow < deadline, $"{path}: {(int)response.StatusCode} {text}");
            await Task.Delay(200);
        }
    }

    private Task<HostProcess> StartWorkerAsync(string name, string queue)
    {
        var env = stack.ProcessEnvironment(0);
        env["Worker__HeartbeatSeconds"] = "1";
        return HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue, "--name", name);
    }

    private async Task AssertFails(int exitCode, string message, params string[] args) =>
        (await _cli.RunAsync(args)).AssertRefused(exitCode, message, args);

    private static JsonElement Json(Tasksctl.Outcome run) => run.Json();

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private static string[] Lines(string text) => Tasksctl.Lines(text);

    public void Dispose() => _cli.Dispose();
}
