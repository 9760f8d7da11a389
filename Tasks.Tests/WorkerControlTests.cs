using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tasks.Core.Auth;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// Remote control over the control channel, through the API, of workers run as their own processes: ping, cancel,
/// shutdown, pause and resume, and the channel coming back after the broker did.
/// </summary>
public sealed class WorkerControlTests(WorkerControlTests.Stack stack) : IClassFixture<WorkerControlTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        protected override bool StartWorker => false;
        protected override bool StartScheduler => false;

        // Long enough for a worker that polls for cancels only once a minute (the poll renews the leases).
        protected override Dictionary<string, string?> Settings => new(base.Settings) { ["Tasks:LeaseSeconds"] = "300" };
    }

    [Fact]
    public async Task Ping_is_answered_by_each_live_worker_and_not_by_a_killed_one()
    {
        var queue = Unique("ping");
        var (alive, doomed) = (Unique("alive"), Unique("doomed"));
        await using var first = await StartWorkerAsync(alive, queue);
        await using var second = await StartWorkerAsync(doomed, queue);

        var both = await PingUntilAsync(p => p.ContainsKey(alive) && p.ContainsKey(doomed));
        Assert.All(both.Values, latency => Assert.True(latency > 0));

        second.Kill(); // SIGKILL: its exclusive control queue goes with its connection
        await second.WaitForExitAsync(TimeSpan.FromSeconds(10));
        var after = await PingAsync();
        Assert.Contains(alive, after.Keys);
        Assert.DoesNotContain(doomed, after.Keys);
    }

    [Fact]
    public async Task Cancel_reaches_a_running_task_over_the_control_channel_not_the_poll()
    {
        var queue = Unique("cancel");
        // The poll comes once a minute: a cancel within the wait below can only have come over the channel.
        await using var worker = await StartWorkerAsync(Unique("w"), queue, ("Worker__CancelPollMilliseconds", "60000"), ("Worker__HeartbeatSeconds", "60"));
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 40 }, queue });
        await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && t.Progress.Current >= 1);

        using var cancel = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        var canceled = await stack.Http.WaitForStateAsync(task.Id, "canceled", seconds: 20);
        Assert.Equal(1, canceled.Attempts);
        Assert.Contains($"task {task.Id}: token fired", worker.Output);
    }

    [Fact]
    public async Task Shutdown_of_one_named_worker_leaves_the_other_running_and_consuming()
    {
        var queue = Unique("shutdown");
        var (stopped, kept) = (Unique("stopped"), Unique("kept"));
        await using var first = await StartWorkerAsync(stopped, queue);
        await using var second = await StartWorkerAsync(kept, queue);

        using var response = await stack.Http.PostAsync($"/api/v1/workers/{stopped}/shutdown?timeoutMs=5000", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(stopped, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("name").GetString());
        await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, first.ExitCode); // a graceful stop, as on SIGTERM

        var tasks = await stack.Http.EnqueueBatchAsync(
            new { name = "demo.echo", args = new { }, queue }, new { name = "demo.echo", args = new { }, queue });
        foreach (var t in tasks) Assert.Equal(kept, (await stack.Http.WaitForStateAsync(t.Id, "succeeded")).Worker);
        Assert.DoesNotContain(stopped, (await PingUntilAsync(p => p.ContainsKey(kept))).Keys);

        using var nobody = await stack.Http.PostAsync($"/api/v1/workers/{Unique("nobody")}/shutdown?timeoutMs=300", null);
        await nobody.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Pause_gives_back_the_messages_a_worker_holds_and_resume_drains_the_queue()
    {
        var (queue, other) = (Unique("paused"), Unique("other"));
        var name = Unique("w");
        await using var worker = await StartWorkerAsync(name, $"{queue},{other}", ("Worker__Concurrency", "1"), ("Worker__HeartbeatSeconds", "1"));
        var running = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 3 }, queue });
        await stack.Http.WaitForStateAsync(running.Id, "running");
        // Prefetched by the worker, waiting behind the running task for its one slot.
        var waiting = new[]
        {
            await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue }),
            await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue }),
        };

        var paused = await ControlAsync(name, queue, "pause");
        Assert.Equal(queue, paused.GetProperty("queue").GetString());
        await WaitForPausedAsync(name, queue, true); // its heartbeat says so
        Assert.Equal("succeeded", (await stack.Http.WaitForStateAsync(running.Id, "succeeded")).State); // a running task finishes
        var elsewhere = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue = other });
        await stack.Http.WaitForStateAsync(elsewhere.Id, "succeeded"); // its other queue is still consumed
        var late = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue });
        foreach (var t in waiting.Append(late)) Assert.Contains((await stack.Http.GetTaskAsync(t.Id)).State, new[] { "pending", "queued" });

        // The messages it held went back to the queue: another worker runs them.
        var helper = Unique("helper");
        await using (var second = await StartWorkerAsync(helper, queue))
        {
            foreach (var t in waiting.Append(late)) Assert.Equal(helper, (await stack.Http.WaitForStateAsync(t.Id, "succeeded")).Worker);
            await ControlAsync(helper, queue, "pause");
        }

        var more = await stack.Http.EnqueueBatchAsync(
            new { name = "demo.echo", args = new { }, queue }, new { name = "demo.echo", args = new { }, queue });
        await ControlAsync(name, queue, "resume");
        await WaitForPausedAsync(name, queue, false);
        foreach (var t in more) Assert.Equal(name, (await stack.Http.WaitForStateAsync(t.Id, "succeeded")).Worker);

        using var unknown = await stack.Http.PostAsync($"/api/v1/workers/{name}/queues/{Unique("notmine")}/pause?timeoutMs=5000", null);
        Assert.Contains("not consumed", (await unknown.AssertProblemAsync(HttpStatusCode.NotFound)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task The_control_channel_comes_back_after_the_broker_connection_does()
    {
        await using var proxy = new TcpProxy(stack.Rabbit.Port);
        var name = Unique("w");
        var env = stack.ProcessEnvironment(0);
        env["ConnectionStrings__RabbitMq"] = new UriBuilder(stack.Rabbit) { Port = proxy.Port }.Uri.ToString();
        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", Unique("q"), "--name", name);
        await PingUntilAsync(p => p.ContainsKey(name));

        proxy.Stop(); // the broker drops the worker's connection, and with it its exclusive control queue
        Assert.DoesNotContain(name, (await PingAsync()).Keys);
        proxy.Start();
        await PingUntilAsync(p => p.ContainsKey(name), worker);
    }

    [Fact]
    public async Task Control_needs_the_admin_scope_and_bad_input_names_its_field()
    {
        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        foreach (var path in new[] { "/api/v1/workers/ping", "/api/v1/workers/w/shutdown", "/api/v1/workers/w/queues/default/pause", "/api/v1/workers/w/queues/default/resume" })
        {
            using var forbidden = await reader.PostAsync(path, null);
            Assert.Equal("admin", (await forbidden.AssertProblemAsync(HttpStatusCode.Forbidden)).GetProperty("scope").GetString());
        }

        foreach (var (path, field) in new[]
        {
            ("/api/v1/workers/ping?timeoutMs=0", "timeoutMs"),
            ("/api/v1/workers/ping?timeoutMs=abc", "timeoutMs"),
            ("/api/v1/workers/w/shutdown?timeoutMs=100000", "timeoutMs"),
            ("/api/v1/workers/w/queues/Not%20A%20Queue/pause", "queue"),
            ("/api/v1/workers/w/queues/amq.x/resume", "queue"),
            ($"/api/v1/workers/{new string('w', 201)}/shutdown", "name"),
        })
        {
            using var response = await stack.Http.PostAsync(path, null);
            (await response.AssertProblemAsync(HttpStatusCode.BadRequest)).FieldError(field);
        }
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private Task<HostProcess> StartWorkerAsync(string name, string queues, params (string Key, string Value)[] settings)
    {
        var env = stack.ProcessEnvironment(0);
        foreach (var (key, value) in settings) env[key] = value;
        return HostProcess.StartAsync("Tasks.Worker", env, "--queues", queues, "--name", name);
    }

    /// <summary>
    /// Pings until the answers satisfy <paramref name="condition"/> (a worker just started, or just reconnected, may
    /// miss the first on a busy machine); fails after a minute.
    /// </summary>
    private async Task<Dictionary<string, double>> PingUntilAsync(Func<Dictionary<string, double>, bool> condition, HostProcess? worker = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var answers = await PingAsync();
            if (condition(answers)) return answers;
            Assert.True(DateTime.UtcNow < deadline, $"Pings got only [{string.Join(", ", answers.Keys)}]\n{worker?.Tail()}");
        }
    }

    /// <summary>The workers that answered a ping, with their round trips.</summary>
    private async Task<Dictionary<string, double>> PingAsync()
    {
        using var response = await stack.Http.PostAsync("/api/v1/workers/ping?timeoutMs=3000", null);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"ping: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("items").EnumerateArray()
            .ToDictionary(i => i.GetProperty("name").GetString()!, i => i.GetProperty("latencyMs").GetDouble());
    }

    /// <summary>Reads the worker's heartbeat (<c>GET /workers/{name}</c>) until its queue shows <paramref name="paused"/>.</summary>
    private async Task WaitForPausedAsync(string worker, string queue, bool paused)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var queues = JsonDocument.Parse(await stack.Http.GetStringAsync("/api/v1/workers/" + Uri.EscapeDataString(worker)))
                .RootElement.GetProperty("queues").EnumerateArray();
            if (queues.Any(q => q.GetProperty("name").GetString() == queue && q.GetProperty("paused").GetBoolean() == paused)) return;
            Assert.True(DateTime.UtcNow < deadline, $"{worker}'s heartbeat never showed {queue} paused={paused}");
            await Task.Delay(200);
        }
    }

    private async Task<JsonElement> ControlAsync(string worker, string queue, string action)
    {
        using var response = await stack.Http.PostAsync($"/api/v1/workers/{worker}/queues/{queue}/{action}?timeoutMs=5000", null);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{action} {queue} on {worker}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }
}
