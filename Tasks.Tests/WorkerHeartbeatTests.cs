using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Tasks.Core.Auth;
using Tasks.Core.Monitoring;
using Tasks.Tests.Infrastructure;
using Tasks.Worker;

namespace Tasks.Tests;

/// <summary>
/// Each worker keeps its row in <c>workers</c> (a one-second heartbeat here): it shows up online with what it runs,
/// turns offline when killed, says stopped on SIGTERM, and counts what it ran; <c>/api/v1/workers</c> shows them.
/// </summary>
public sealed class WorkerHeartbeatTests(WorkerHeartbeatTests.Stack stack) : IClassFixture<WorkerHeartbeatTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        protected override bool StartWorker => false;
        protected override Dictionary<string, string?> Settings => new(base.Settings) { ["Worker:HeartbeatSeconds"] = "1" };
    }

    [Fact]
    public async Task A_worker_appears_online_with_its_running_task_and_turns_offline_when_killed()
    {
        var (queue, name) = Names("online");
        var env = Environment();
        env["Worker__Concurrency"] = "3";
        env["Worker__Prefetch"] = "5";
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 30 }, queue });

        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue, "--name", name);
        await stack.Http.WaitForStateAsync(task.Id, "running");
        var seen = await WaitForWorkerAsync(name, w => w.State == "online" && w.Running.Contains(task.Id));
        Assert.Equal((worker.Pid, System.Environment.MachineName), (seen.Pid, seen.Host));
        Assert.Equal(new[] { new WorkerQueue(queue, 3, 5, false) }, seen.Queues);
        Assert.False(string.IsNullOrEmpty(seen.Version));
        Assert.Null(seen.StoppedAt);

        worker.Kill(); // SIGKILL: no last word; three missed beats make it offline
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(10));
        var gone = await WaitForWorkerAsync(name, w => w.State != "online");
        Assert.Equal("offline", gone.State);
        Assert.Equal(new[] { task.Id }, gone.Running); // what it ran when it was last heard of
    }

    [Fact]
    public async Task A_worker_stopped_by_SIGTERM_says_stopped_after_its_task_finished()
    {
        var (queue, name) = Names("term");
        var env = Environment();
        env["Worker__ShutdownGraceSeconds"] = "10";
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 2 }, queue });

        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue, "--name", name);
        await WaitForWorkerAsync(name, w => w.Running.Contains(task.Id));
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("succeeded", (await stack.Http.GetTaskAsync(task.Id)).State);
        var stopped = await GetWorkerAsync(name);
        Assert.Equal("stopped", stopped.State);
        Assert.NotNull(stopped.StoppedAt);
        Assert.Empty(stopped.Running);
        Assert.Equal((1L, 1L), (stopped.Processed, stopped.Succeeded)); // drained first, then the last beat
    }

    [Fact]
    public async Task A_worker_counts_what_it_ran_per_task_name()
    {
        var (queue, name) = Names("counts");
        var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Name"] = name });
        try
        {
            var tasks = await stack.Http.EnqueueBatchAsync(
                new { name = "demo.echo", args = new { }, queue }, new { name = "demo.echo", args = new { }, queue },
                new { name = "demo.echo", args = new { }, queue },
                new { name = "demo.fail", args = new { }, queue, maxAttempts = 1 },                                 // fails for good
                new { name = "demo.fail", args = new { failTimes = 1 }, queue, maxAttempts = 2, backoffSeconds = 0 }); // retried, then succeeds
            foreach (var t in tasks) await stack.Http.WaitForAsync(t.Id, t => t.State is "succeeded" or "failed");

            var seen = await WaitForWorkerAsync(name, w => w.Processed == 6);
            Assert.Equal((4L, 1L, 1L), (seen.Succeeded, seen.Failed, seen.Retried));
            var stats = await StatsAsync(name);
            Assert.Equal(new[] { "demo.echo", "demo.fail" }, stats.Keys.Order());
            var (echo, fail) = (stats["demo.echo"], stats["demo.fail"]);
            Assert.Equal((3L, 3L, 0L, 0L), (echo.Started, echo.Succeeded, echo.Failed, echo.Retried));
            Assert.Equal((3L, 1L, 1L, 1L), (fail.Started, fail.Succeeded, fail.Failed, fail.Retried));
            Assert.Equal((3L, 3L), (echo.RunMs.Sum(), echo.WaitMs.Sum()));
            Assert.Equal((3L, 3L), (fail.RunMs.Sum(), fail.WaitMs.Sum()));
            Assert.Equal(LatencyBuckets.UpperBoundsMs.Length, echo.RunMs.Length);
        }
        finally
        {
            await worker.StopAsync(TimeSpan.FromSeconds(10));
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_unknown_worker_is_a_404_problem()
    {
        using var response = await stack.Http.GetAsync("/api/v1/workers/" + Uri.EscapeDataString("nobody@nowhere:1"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.NotFound);
        Assert.Contains("nobody@nowhere:1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Workers_are_listed_online_first_to_read_keys_only()
    {
        var (queue, name) = Names("listed");
        var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Name"] = name });
        var stale = "zz-stale-" + queue;
        var asleep = "aa-stopped-" + queue;
        await stack.ExecuteAsync(
            """
            INSERT INTO workers (name, host, pid, version, queues, processed, succeeded, failed, retried, stats, started_at, heartbeat_at, heartbeat_seconds, stopped_at)
            VALUES ($1, 'h', 1, 'v', '[]', 0, 0, 0, 0, '{}', now() - interval '1 hour', now() - interval '1 minute', 5, NULL),
                   ($2, 'h', 2, 'v', '[]', 0, 0, 0, 0, '{}', now() - interval '1 hour', now() - interval '1 minute', 5, now() - interval '1 minute')
            """, stale, asleep);
        try
        {
            await WaitForWorkerAsync(name, w => w.State == "online");
            using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
            var items = (await reader.GetFromJsonAsync<WorkerListView>("/api/v1/workers", ApiExtensions.Json))!.Items;
            var ours = items.Where(w => w.Name.EndsWith(queue, StringComparison.Ordinal)).Select(w => (w.Name, w.State)).ToList();
            Assert.Equal(new[] { (name, "online"), (asleep, "stopped"), (stale, "offline") }, ours);
            Assert.True(items.TakeWhile(w => w.State == "online").Count() == items.Count(w => w.State == "online"), "online workers come first");

            using var anonymous = stack.AnonymousClient();
            foreach (var path in new[] { "/api/v1/workers", "/api/v1/workers/" + name })
                await (await anonymous.GetAsync(path)).AssertProblemAsync(HttpStatusCode.Unauthorized);
        }
        finally
        {
            await worker.StopAsync(TimeSpan.FromSeconds(10));
            await worker.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(1, 1000, true)]
    [InlineData(0, 500, false)]  // never
    [InlineData(1, 1001, false)] // sent with a renewal: not more often than the poll
    public void A_heartbeat_interval_the_worker_cannot_keep_fails_at_start_up(int seconds, int pollMilliseconds, bool valid)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Tasks"] = stack.Postgres,
            ["ConnectionStrings:RabbitMq"] = stack.Rabbit.ToString(),
            ["Tasks:LeaseSeconds"] = "10",
            ["Worker:HeartbeatSeconds"] = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Worker:CancelPollMilliseconds"] = pollMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.AddTasksWorker();
        using var host = builder.Build();

        var options = () => host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
        if (valid) Assert.Equal(seconds, options().HeartbeatSeconds);
        else Assert.Contains("HeartbeatSeconds", Assert.Throws<OptionsValidationException>(options).Message, StringComparison.Ordinal);
    }

    private static (string Queue, string Name) Names(string prefix)
    {
        var queue = prefix + "-" + Guid.NewGuid().ToString("N")[..8];
        return (queue, "w-" + queue);
    }

    private Dictionary<string, string> Environment()
    {
        var env = stack.ProcessEnvironment(0);
        env["Worker__HeartbeatSeconds"] = "1";
        env["Worker__CancelPollMilliseconds"] = "100";
        return env;
    }

    private async Task<WorkerView> GetWorkerAsync(string name) =>
        (await stack.Http.GetFromJsonAsync<WorkerView>("/api/v1/workers/" + Uri.EscapeDataString(name), ApiExtensions.Json))!;

    private async Task<WorkerView> WaitForWorkerAsync(string name, Func<WorkerView, bool> condition, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        WorkerView? seen = null;
        do
        {
            using var response = await stack.Http.GetAsync("/api/v1/workers/" + Uri.EscapeDataString(name));
            if (response.StatusCode == HttpStatusCode.OK)
            {
                seen = (await response.Content.ReadFromJsonAsync<WorkerView>(ApiExtensions.Json))!;
                if (condition(seen)) return seen;
            }
            await Task.Delay(100);
        } while (clock.Elapsed < TimeSpan.FromSeconds(seconds));
        Assert.Fail($"Worker {name} did not reach the expected condition in {seconds} s; last seen: {seen}");
        return seen!;
    }

    private async Task<Dictionary<string, TaskNameStats>> StatsAsync(string name)
    {
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand("SELECT stats::text FROM workers WHERE name = $1");
        cmd.Parameters.Add(new() { Value = name });
        return JsonSerializer.Deserialize<Dictionary<string, TaskNameStats>>((string)(await cmd.ExecuteScalarAsync())!, ApiExtensions.Json)!;
    }

    private sealed record WorkerView(
        string Name, string Host, int Pid, string Version, string State, List<WorkerQueue> Queues, List<Guid> Running,
        long Processed, long Succeeded, long Failed, long Retried, DateTimeOffset StartedAt, DateTimeOffset LastHeartbeat, DateTimeOffset? StoppedAt);

    private sealed record WorkerListView(List<WorkerView> Items);
}
