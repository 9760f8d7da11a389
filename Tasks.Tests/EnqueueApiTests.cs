using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

public sealed class EnqueueApiTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task Accepted_task_has_a_location_and_its_args_round_trip_to_the_result()
    {
        var args = new { message = "héllo \"world\" ✓", data = new { n = 42, list = new[] { 1, 2, 3 }, nested = new { ok = true } } };
        using var response = await stack.Http.PostJsonAsync("/api/v1/tasks", new { name = "demo.echo", args });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var task = (await response.Content.ReadFromJsonAsync<TaskView>(ApiExtensions.Json))!;
        Assert.Equal($"/api/v1/tasks/{task.Id}", response.Headers.Location?.ToString());
        Assert.Equal("default", task.Queue);
        Assert.Equal("queued", task.State);

        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");

        var expected = JsonSerializer.SerializeToElement(args, ApiExtensions.Json);
        Assert.True(JsonElement.DeepEquals(expected, done.Args), $"args {done.Args} != {expected}");
        Assert.True(JsonElement.DeepEquals(expected, done.Result!.Value), $"result {done.Result} != {expected}");
        Assert.True(done.StartedAt >= done.EnqueuedAt && done.FinishedAt >= done.StartedAt);
    }

    [Fact]
    public async Task Counts_by_state_list_every_state_and_include_finished_tasks()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "count me" } });
        await stack.Http.WaitForStateAsync(task.Id, "succeeded");

        var counts = (await stack.Http.GetFromJsonAsync<Dictionary<string, int>>("/api/v1/tasks/counts", ApiExtensions.Json))!;

        Assert.Equal(["pending", "scheduled", "queued", "running", "succeeded", "failed", "canceled", "expired"], counts.Keys);
        Assert.True(counts["succeeded"] >= 1, $"succeeded: {counts["succeeded"]}");
    }

    [Fact]
    public async Task Same_idempotency_key_twice_gives_the_first_task()
    {
        var key = "order-" + Guid.NewGuid();
        var first = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "one" }, idempotencyKey = key });
        var second = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "one" }, idempotencyKey = key });

        Assert.Equal(first.Id, second.Id);
        Assert.Equal("one", second.Args.GetProperty("message").GetString());
        Assert.Equal(1, await stack.CountAsync("tasks WHERE idempotency_key = $1", key));
        await stack.Http.WaitForStateAsync(first.Id, "succeeded");
    }

    [Fact]
    public async Task Concurrent_requests_with_one_idempotency_key_store_one_task()
    {
        var key = "race-" + Guid.NewGuid();
        var tasks = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "m" }, idempotencyKey = key })));

        Assert.Single(tasks.Select(t => t.Id).Distinct());
        Assert.Equal(1, await stack.CountAsync("tasks WHERE idempotency_key = $1", key));
    }

    [Fact]
    public async Task Batch_is_stored_together_and_published_in_the_given_order_ten_tasks_to_a_message_or_ten_messages()
    {
        // A queue nobody consumes, so the broker's order can be read back from the queue itself.
        var queue = "order-" + Guid.NewGuid().ToString("N")[..8];
        var body = new { tasks = Enumerable.Range(0, 25).Select(i => new { name = "demo.echo", args = new { message = $"#{i}" }, queue }).ToArray() };
        using var response = await stack.Http.PostJsonAsync("/api/v1/tasks/batch", body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var batch = (await response.Content.ReadFromJsonAsync<BatchView>(ApiExtensions.Json))!;
        Assert.Equal(Enumerable.Range(0, 25).Select(i => $"#{i}"), batch.Items.Select(t => t.Args.GetProperty("message").GetString()));

        // Ten tasks of a queue to a broker message...
        var published = await ReadQueueAsync(queue, 3);
        Assert.Equal([10, 10, 5], published.Select(m => m.Length));
        Assert.Equal(batch.Items.Select(t => t.Id), published.SelectMany(m => m));
        foreach (var t in batch.Items) Assert.Equal("queued", t.State);
        foreach (var t in batch.Items) await stack.Http.WaitForStateAsync(t.Id, "queued", seconds: 3);

        // ...or, when there are more than a hundred, as many as spread them over ten messages.
        var bulkQueue = queue + "-bulk";
        var bulk = await stack.Http.EnqueueBatchAsync([.. Enumerable.Range(0, 250).Select(_ => new { name = "demo.echo", args = new { }, queue = bulkQueue })]);
        var bulkPublished = await ReadQueueAsync(bulkQueue, 10);
        Assert.Equal(Enumerable.Repeat(25, 10), bulkPublished.Select(m => m.Length));
        Assert.Equal(bulk.Select(t => t.Id), bulkPublished.SelectMany(m => m));
    }

    [Fact]
    public async Task Concurrent_single_enqueues_share_broker_messages()
    {
        var queue = "shared-" + Guid.NewGuid().ToString("N")[..8]; // nobody consumes it
        var tasks = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = $"#{i}" }, queue })));

        // Each caller's publish goes out with those of the callers waiting behind the one publishing.
        var published = await ReadQueueAsync(queue, 100, atLeast: 100);
        Assert.Equal(tasks.Select(t => t.Id).Order(), published.SelectMany(m => m).Order());
        Assert.True(published.Count < 100, "every task went out in a message of its own");
    }

    [Fact]
    public async Task Published_task_is_recorded_queued_later_and_at_the_latest_when_its_host_stops()
    {
        var queue = "mark-" + Guid.NewGuid().ToString("N")[..8]; // nobody consumes it
        var settings = new Dictionary<string, string?>(stack.ProcessEnvironment(0).ToDictionary(p => p.Key, p => (string?)p.Value))
        {
            ["Tasks:QueuedMarkDelayMilliseconds"] = "2000",
        };
        var web = stack.BuildWeb(settings);
        await web.StartAsync(TestContext.Current.CancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri(web.Urls.First()) };
        http.DefaultRequestHeaders.Authorization = stack.Http.DefaultRequestHeaders.Authorization;

        var task = await http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue });
        var touched = await http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue });
        Assert.Equal("queued", task.State); // the broker confirmed it
        // Its row says so a moment later, with other tasks', in one statement; a worker would have claimed it by then.
        Assert.Equal(2, await stack.CountAsync("tasks WHERE id IN ($1, $2) AND state = 'pending'", task.Id, touched.Id));
        // A row written meanwhile (claimed; or canceled and retried by hand, its new publish failed) is left alone.
        await stack.ExecuteAsync("UPDATE tasks SET updated_at = now() WHERE id = $1", touched.Id);

        // A host that stops writes the marks it holds back (long before the sweeper would publish the task again).
        await web.StopAsync(TestContext.Current.CancellationToken);
        await web.DisposeAsync();
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1 AND state = 'queued'", task.Id));
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1 AND state = 'pending'", touched.Id));
        Assert.Equal([[task.Id], [touched.Id]], await ReadQueueAsync(queue, 2));
    }

    [Fact]
    public async Task List_is_newest_first_filtered_and_keyset_paged()
    {
        var queue = "page-" + Guid.NewGuid().ToString("N")[..8];
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++)
            ids.Add((await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = $"{i}" }, queue })).Id);
        ids.Reverse();

        var seen = new List<Guid>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = (await stack.Http.GetFromJsonAsync<PageView>(
                $"/api/v1/tasks?queue={queue}&limit=2" + (cursor is null ? "" : $"&cursor={cursor}"), ApiExtensions.Json))!;
            Assert.True(page.Items.Count <= 2);
            seen.AddRange(page.Items.Select(t => t.Id));
            cursor = page.NextCursor;
            pages++;
        } while (cursor is not null);

        Assert.Equal(ids, seen);
        Assert.Equal(3, pages);
        await stack.Http.WaitForStateAsync(ids[0], "queued", seconds: 3); // the last one enqueued
        var byState = (await stack.Http.GetFromJsonAsync<PageView>($"/api/v1/tasks?queue={queue}&state=queued&name=demo.echo", ApiExtensions.Json))!;
        Assert.Equal(5, byState.Items.Count);
        var none = (await stack.Http.GetFromJsonAsync<PageView>($"/api/v1/tasks?queue={queue}&state=running", ApiExtensions.Json))!;
        Assert.Empty(none.Items);
    }

    /// <summary>
    /// The task ids of each of the first <paramref name="count"/> messages in the queue, taking them off it; or of
    /// fewer messages, once they carry <paramref name="atLeast"/> tasks.
    /// </summary>
    private async Task<List<Guid[]>> ReadQueueAsync(string queue, int count, int atLeast = int.MaxValue)
    {
        using var http = stack.Servers.ManagementClient();
        var messages = new List<Guid[]>();
        for (var tries = 0; messages.Count < count && messages.Sum(m => m.Length) < atLeast && tries < 50; tries++)
        {
            using var response = await http.PostAsJsonAsync($"api/queues/{stack.Name}/{queue}/get",
                new { count = count - messages.Count, ackmode = "ack_requeue_false", encoding = "auto" });
            if (response.StatusCode == HttpStatusCode.NotFound) { await Task.Delay(100); continue; }
            response.EnsureSuccessStatusCode();
            foreach (var m in (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray())
            {
                var message = JsonDocument.Parse(m.GetProperty("payload").GetString()!).RootElement.GetProperty("message");
                messages.Add(message.TryGetProperty("taskIds", out var ids)
                    ? [.. ids.EnumerateArray().Select(id => id.GetGuid())]
                    : [message.GetProperty("taskId").GetGuid()]);
            }
        }
        return messages;
    }

    private sealed record BatchView(List<TaskView> Items);
}
