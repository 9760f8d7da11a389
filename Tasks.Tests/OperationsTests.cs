using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The hosts as operators run them, each its own process: what they log, what they expose to Prometheus, and how
/// their readiness follows the broker.
/// </summary>
public sealed class OperationsTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
{
    [Fact]
    public async Task A_real_Prometheus_scrapes_the_three_hosts_and_sees_the_task_metrics_move()
    {
        const string prometheusBinary = "/usr/bin/prometheus";
        Assert.True(File.Exists(prometheusBinary), "Prometheus is not installed: ./dev test installs the Debian 'prometheus' package.");
        var queue = "prom-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.Environment();
        await using var web = await HostProcess.StartAsync("Tasks.Web", env);
        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue);
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", env);
        await using var prometheus = await Prometheus.StartAsync(prometheusBinary, web.Port, worker.Port, scheduler.Port);

        Assert.Equal(0, await prometheus.QueryAsync($"sum(tasks_succeeded_total{{task_queue=\"{queue}\"}}) or vector(0)"));

        using var http = new HttpClient { BaseAddress = web.Address };
        http.DefaultRequestHeaders.Authorization = stack.Http.DefaultRequestHeaders.Authorization;
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++) ids.Add((await http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue })).Id);
        var failing = await http.EnqueueAsync(new { name = "demo.fail", args = new { message = "x" }, queue, maxAttempts = 1 });
        foreach (var id in ids) await http.WaitForStateAsync(id, "succeeded");
        await http.WaitForStateAsync(failing.Id, "failed");

        await prometheus.WaitForAsync($"sum(tasks_succeeded_total{{task_queue=\"{queue}\"}})", v => v == 5);
        await prometheus.WaitForAsync($"sum(tasks_enqueued_total{{task_queue=\"{queue}\"}})", v => v == 6);
        await prometheus.WaitForAsync($"sum(tasks_failed_total{{task_queue=\"{queue}\"}})", v => v == 1);
        await prometheus.WaitForAsync($"sum(tasks_run_duration_seconds_count{{task_queue=\"{queue}\"}})", v => v == 6);
        await prometheus.WaitForAsync($"count(tasks_queue_wait_seconds_bucket{{task_queue=\"{queue}\",task_name=\"demo.echo\"}})", v => v >= 10);
        await prometheus.WaitForAsync("count(tasks_outbox_backlog)", v => v >= 1);
        await prometheus.WaitForAsync("count(tasks_running)", v => v >= 1);
    }

    [Fact]
    public async Task Json_logs_parse_and_lines_inside_a_task_carry_the_task_and_its_trace()
    {
        var queue = "json-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.Environment();
        env["Logging__Format"] = "json";
        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue);
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "json" }, queue });
        await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        await Task.Delay(300);

        var events = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var inTask = events.Where(e => e.TryGetProperty("TaskId", out var id) && id.GetString() == task.Id.ToString()).ToList();
        Assert.NotEmpty(inTask);
        Assert.All(inTask, e =>
        {
            Assert.Equal("demo.echo", e.GetProperty("TaskName").GetString());
            Assert.Equal(1, e.GetProperty("Attempt").GetInt32());
            Assert.Equal(queue, e.GetProperty("Queue").GetString());
            Assert.StartsWith("worker@", e.GetProperty("Worker").GetString(), StringComparison.Ordinal);
            Assert.Matches("^[0-9a-f]{32}$", e.GetProperty("@tr").GetString());
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Spans_are_recorded_only_with_an_exporter_and_a_task_s_log_lines_carry_its_request_s_trace_either_way(bool exporter)
    {
        var queue = "trace-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.Environment();
        env["Logging__Format"] = "json";
        // Nothing listens there: the exporter's sends fail, which the hosts don't notice.
        if (exporter) env["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{HostProcess.FreePort()}";
        await using var web = await HostProcess.StartAsync("Tasks.Web", env);
        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue);
        using var http = new HttpClient { BaseAddress = web.Address };
        http.DefaultRequestHeaders.Authorization = stack.Http.DefaultRequestHeaders.Authorization;

        // Concurrent requests, each in a trace of its own that the caller samples (01), share broker messages.
        var tasks = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            var trace = ActivityTraceId.CreateRandom();
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks")
            {
                Content = JsonContent.Create(new { name = "demo.echo", args = new { message = "traced" }, queue }),
            };
            request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
            using var response = await http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return (Trace: trace, Task: (await response.Content.ReadFromJsonAsync<TaskView>(ApiExtensions.Json))!);
        }));
        foreach (var (_, task) in tasks) await http.WaitForStateAsync(task.Id, "succeeded");
        await Task.Delay(300);
        var ids = tasks.Select(t => t.Task.Id).ToArray();
        Assert.True(await stack.CountAsync("(SELECT DISTINCT message_id FROM tasks WHERE id = ANY($1)) m", ids) < ids.Length,
            "every task came in a message of its own, so the test proved nothing");

        var lines = worker.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        foreach (var (trace, task) in tasks)
        {
            // The stored context is the request span's: flagged recorded (01) only when spans go somewhere.
            Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1 AND trace_parent LIKE $2", task.Id, $"00-{trace}-%-{(exporter ? "01" : "00")}"));
            var inTask = lines.Where(e => e.TryGetProperty("TaskId", out var id) && id.GetString() == task.Id.ToString()).ToList();
            Assert.NotEmpty(inTask);
            Assert.All(inTask, e => Assert.Equal(trace.ToHexString(), e.GetProperty("@tr").GetString()));
        }
    }

    [Fact]
    public async Task Text_logs_have_no_colour_codes_when_redirected_and_name_the_task()
    {
        var queue = "text-" + Guid.NewGuid().ToString("N")[..8];
        await using var worker = await HostProcess.StartAsync("Tasks.Worker", stack.Environment(), "--queues", queue);
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue });
        await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        await Task.Delay(300);

        Assert.DoesNotContain('\u001b', worker.Output);
        Assert.Contains($"[task {task.Id} demo.echo #1 on {queue}]", worker.Output);
    }

    [Fact]
    public async Task Readiness_turns_unhealthy_when_the_broker_goes_and_healthy_when_it_returns()
    {
        await using var proxy = new TcpProxy(stack.Rabbit.Port);
        var env = stack.Environment();
        env["ConnectionStrings__RabbitMq"] = new UriBuilder(stack.Rabbit) { Port = proxy.Port }.Uri.ToString();
        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env);
        using var http = new HttpClient { BaseAddress = worker.Address };

        proxy.Stop();
        var down = await WaitForReadinessAsync(http, HttpStatusCode.ServiceUnavailable);
        Assert.NotEqual("Healthy", down.GetProperty("checks").GetProperty("masstransit-bus").GetProperty("status").GetString());
        Assert.Equal("Healthy", down.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());

        proxy.Start();
        var up = await WaitForReadinessAsync(http, HttpStatusCode.OK);
        Assert.Equal("Healthy", up.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Web_stays_ready_without_its_broker_and_keeps_taking_tasks()
    {
        // A load balancer must keep sending it requests: what it takes is committed, and the relay publishes it
        // once the broker is back. (Its bus has no receive endpoints, so the bus check doesn't follow the broker.)
        await using var proxy = new TcpProxy(stack.Rabbit.Port);
        var env = stack.Environment();
        env["ConnectionStrings__RabbitMq"] = new UriBuilder(stack.Rabbit) { Port = proxy.Port }.Uri.ToString();
        env["Tasks__PublishTimeoutSeconds"] = "1";
        await using var web = await HostProcess.StartAsync("Tasks.Web", env);
        using var http = new HttpClient { BaseAddress = web.Address };
        http.DefaultRequestHeaders.Authorization = stack.Http.DefaultRequestHeaders.Authorization;

        proxy.Stop();
        var task = await http.EnqueueAsync(new { name = "demo.echo", args = new { } });
        Assert.Equal("pending", task.State); // the publish failed: the broker is out of reach
        using var ready = await http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal("Healthy", (await ready.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
    }

    [Fact]
    public async Task Worker_started_before_the_database_waits_for_it_then_works()
    {
        var pgPort = new Npgsql.NpgsqlConnectionStringBuilder(stack.Postgres).Port;
        await using var proxy = new TcpProxy(pgPort);
        proxy.Stop();
        var queue = "late-db-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.Environment();
        env["ConnectionStrings__Tasks"] = new Npgsql.NpgsqlConnectionStringBuilder(stack.Postgres) { Port = proxy.Port }.ConnectionString;
        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env, waitReady: false, "--queues", queue);

        for (var i = 0; i < 100 && !worker.Output.Contains("Waiting for PostgreSQL", StringComparison.Ordinal); i++) await Task.Delay(100);
        Assert.Contains("Waiting for PostgreSQL", worker.Output);

        proxy.Start();
        await worker.WaitReadyAsync();
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue });
        await stack.Http.WaitForStateAsync(task.Id, "succeeded");
    }

    private static async Task<JsonElement> WaitForReadinessAsync(HttpClient http, HttpStatusCode expected)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await http.GetAsync("/health/ready");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            if (response.StatusCode == expected) return body;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(90), $"readiness stayed {(int)response.StatusCode}: {body}");
            await Task.Delay(250);
        }
    }
}
