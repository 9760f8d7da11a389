using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

public sealed class ObservabilityTests(ObservabilityTests.Stack stack) : IClassFixture<ObservabilityTests.Stack>
{
    /// <summary>Every span the stack's hosts finish, through OpenTelemetry's in-memory exporter.</summary>
    public sealed class Stack : TasksStack
    {
        public SpanList Spans { get; } = new();

        protected override void ConfigureHost(WebApplicationBuilder builder)
        {
            builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(Spans));
            // An exporter our hosts don't know about: sampling is asked for as an operator would (spans are
            // recorded by default only when OTEL_EXPORTER_OTLP_ENDPOINT is set).
            builder.Configuration["OTEL_TRACES_SAMPLER"] = "always_on";
        }
    }

    [Fact]
    public async Task One_trace_spans_the_request_the_publish_the_consume_the_handler_and_its_queries()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "test.dbwrite", args = new { trackedId = Guid.NewGuid(), sqlId = Guid.NewGuid() } });
        await stack.Http.WaitForStateAsync(task.Id, "succeeded");

        // Spans are exported in batches (every 5 s by default), each host's on its own schedule: wait for the lot.
        Activity? run = null;
        List<Activity> trace = [];
        for (var i = 0; i < 200; i++, await Task.Delay(100))
        {
            var spans = stack.Spans.Snapshot();
            run = spans.FirstOrDefault(s => s.OperationName.StartsWith("task.run", StringComparison.Ordinal) && Equals(s.GetTagItem("task.id"), task.Id));
            trace = run is null ? [] : spans.Where(s => s.TraceId == run.TraceId).ToList();
            if (trace.Exists(s => s.Source.Name == "Microsoft.AspNetCore") && trace.Exists(s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer)
                && trace.Exists(s => s.Source.Name == "Npgsql" && s.ParentSpanId == run!.SpanId)) break;
        }
        Assert.NotNull(run);
        Assert.Equal("test.dbwrite", run.GetTagItem("task.name"));

        Assert.Contains(trace, s => s.Source.Name == "Microsoft.AspNetCore" && s.Kind == ActivityKind.Server);
        Assert.Contains(trace, s => s.Source.Name == "Tasks" && s.Kind == ActivityKind.Producer && s.OperationName == "task.publish");
        Assert.Contains(trace, s => s.Source.Name == "MassTransit" && s.Kind == ActivityKind.Consumer);
        Assert.Contains(trace, s => s.Source.Name == "Npgsql" && s.ParentSpanId == run.SpanId); // the handler's own queries
        Assert.Contains(trace, s => s.Source.Name == "Tasks" && s.OperationName == "task.store" && s.StartTimeUtc < run.StartTimeUtc); // the enqueue's insert
    }

    [Fact]
    public async Task Tasks_of_several_traces_in_one_message_each_run_in_their_own_trace()
    {
        // Concurrent requests, each in a trace of its own (the caller's traceparent), share broker messages.
        var traces = Enumerable.Range(0, 40).Select(_ => ActivityTraceId.CreateRandom()).ToList();
        var tasks = await Task.WhenAll(traces.Select(async trace =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks")
            {
                Content = System.Net.Http.Json.JsonContent.Create(new { name = "demo.echo", args = new { } }),
            };
            request.Headers.Add("traceparent", $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
            using var response = await stack.Http.SendAsync(request);
            response.EnsureSuccessStatusCode();
            return (Trace: trace, Task: (await response.Content.ReadFromJsonAsync<TaskView>(ApiExtensions.Json))!);
        }));
        foreach (var (_, task) in tasks) await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        Assert.True(await stack.CountAsync("(SELECT DISTINCT message_id FROM tasks WHERE id = ANY($1)) m", tasks.Select(t => t.Task.Id).ToArray()) < 40,
            "every task came in a message of its own, so the test proved nothing");

        var runs = await stack.Spans.TaskRunsAsync(tasks.Length);
        foreach (var (trace, task) in tasks) Assert.Equal(trace, runs[task.Id].TraceId);
    }

    [Fact]
    public async Task Tasks_sent_back_to_the_queue_run_in_the_trace_that_enqueued_them()
    {
        var trace = ActivityTraceId.CreateRandom();
        var tasks = await HandBack.RunAsync(stack, "handback-" + Guid.NewGuid().ToString("N")[..8], $"00-{trace}-{ActivitySpanId.CreateRandom()}-01");

        Assert.Equal(["busy", "idle", "idle"], tasks.Select(t => t.Worker)); // two of them were sent back
        var runs = await stack.Spans.TaskRunsAsync(tasks.Count);
        Assert.All(tasks, t => Assert.Equal(trace, runs[t.Id].TraceId));
    }

    [Fact]
    public void Hosts_send_no_usage_telemetry_to_MassTransit_s_servers()
    {
        // The tracker reads MASSTRANSIT_USAGE_TELEMETRY (an operator's opt-in) into the options as it is made.
        Assert.Null(Environment.GetEnvironmentVariable("MASSTRANSIT_USAGE_TELEMETRY"));
        foreach (var host in new[] { stack.Web.Services, stack.Worker!.Services })
        {
            Assert.NotNull(host.GetRequiredService<MassTransit.UsageTracking.IUsageTracker>());
            Assert.False(host.GetRequiredService<IOptions<MassTransit.UsageTelemetryOptions>>().Value.Enabled);
        }
    }

    [Fact]
    public async Task Log_lines_inside_a_task_carry_the_task_properties()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "test.secret", args = new { user = "ada", password = "pw-not-to-be-seen" } });
        await stack.Http.WaitForStateAsync(task.Id, "succeeded");

        var line = Assert.Single(stack.Logs.Events, e => e.Message == "Signing in ada");
        Assert.Equal(task.Id, line.Values["TaskId"]);
        Assert.Equal("test.secret", line.Values["TaskName"]);
        Assert.Equal(1, line.Values["Attempt"]);
        Assert.Equal("default", line.Values["Queue"]);
        Assert.StartsWith("worker@", (string)line.Values["Worker"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sensitive_field_never_appears_in_API_responses_or_logs()
    {
        const string secret = "s3cr3t-value-8d1f";
        using var post = await stack.Http.PostJsonAsync("/api/v1/tasks", new { name = "test.secret", args = new { user = "bob", password = secret } });
        var posted = await post.Content.ReadAsStringAsync();
        var id = JsonDocument.Parse(posted).RootElement.GetProperty("id").GetGuid();
        var done = await stack.Http.WaitForStateAsync(id, "succeeded");

        Assert.Equal("***", done.Args.GetProperty("password").GetString());
        Assert.Equal("bob", done.Args.GetProperty("user").GetString());
        Assert.DoesNotContain(secret, posted);
        Assert.DoesNotContain(secret, await stack.Http.GetStringAsync($"/api/v1/tasks/{id}"));
        Assert.DoesNotContain(secret, await stack.Http.GetStringAsync("/api/v1/tasks?name=test.secret"));
        Assert.DoesNotContain(stack.Logs.Events, e => e.Message.Contains(secret, StringComparison.Ordinal)
            || e.Values.Values.Any(v => v?.ToString()?.Contains(secret, StringComparison.Ordinal) == true));
        // It is kept, only never shown: the worker got the real value.
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1 AND args->>'password' = $2", id, secret));
    }

    /// <summary>The in-memory exporter wants an ICollection; several hosts export into it at once.</summary>
    public sealed class SpanList : System.Collections.ObjectModel.Collection<Activity>
    {
        private readonly Lock _lock = new();

        protected override void InsertItem(int index, Activity item) { lock (_lock) base.InsertItem(index, item); }

        public List<Activity> Snapshot() { lock (_lock) return [.. Items]; }

        /// <summary>Each task's first <c>task.run</c> span, once there are <paramref name="count"/> (or after 20 s).</summary>
        public async Task<Dictionary<Guid, Activity>> TaskRunsAsync(int count)
        {
            Dictionary<Guid, Activity> runs = [];
            for (var i = 0; i < 200 && runs.Count < count; i++, await Task.Delay(100))
                runs = Snapshot().Where(s => s.OperationName.StartsWith("task.run", StringComparison.Ordinal))
                    .GroupBy(s => (Guid)s.GetTagItem("task.id")!).ToDictionary(g => g.Key, g => g.First());
            return runs;
        }
    }
}
