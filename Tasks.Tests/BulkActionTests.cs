using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tasks.Core.Auth;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// Bulk actions on a filter (<c>POST /api/v1/tasks/bulk/retry|cancel|delete</c>): they touch exactly the tasks the
/// filter matches, a dry run counts them first, retried tasks run again, and a bad filter names its field.
/// </summary>
public sealed class BulkActionTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task Bulk_retry_of_one_name_retries_exactly_its_failed_tasks_and_they_run_again()
    {
        var since = DateTimeOffset.UtcNow;
        var message = $"bulk {Guid.NewGuid():N}";
        var ours = new List<TaskView>();
        for (var i = 0; i < 3; i++)
            ours.Add(await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message, failTimes = 1 }, maxAttempts = 1 }));
        var other = await stack.Http.EnqueueAsync(new { name = "test.dbwrite", args = new { trackedId = Guid.NewGuid(), sqlId = Guid.NewGuid(), fail = true } });
        foreach (var t in ours.Append(other)) await stack.Http.WaitForStateAsync(t.Id, "failed");

        var groups = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/tasks/failed/groups", ApiExtensions.Json);
        var group = Assert.Single(groups.GetProperty("items").EnumerateArray(), g => g.GetProperty("error").GetString() == $"DemoFailureException: {message}");
        Assert.Equal("demo.fail", group.GetProperty("name").GetString());
        Assert.Equal(3, group.GetProperty("count").GetInt64());

        var filter = new { name = "demo.fail", from = since.ToString("O") };
        // An error's first line, as stored: the exception's type and message.
        Assert.Equal(3, await BulkAsync("retry?dryRun=true", new { error = $"DemoFailureException: {message}" }, "matched"));
        Assert.Equal(0, await BulkAsync("retry?dryRun=true", new { error = message }, "matched"));
        Assert.Equal(3, await BulkAsync("retry?dryRun=true", filter, "matched"));
        Assert.Equal(3, await BulkAsync("retry", filter, "touched"));
        foreach (var t in ours)
        {
            var done = await stack.Http.WaitForStateAsync(t.Id, "succeeded");
            Assert.Equal(2, done.Attempts);
        }
        Assert.Equal("failed", (await stack.Http.GetTaskAsync(other.Id)).State);
        Assert.Equal(0, await BulkAsync("retry?dryRun=true", filter, "matched"));
    }

    [Fact]
    public async Task Bulk_cancel_of_a_queue_cancels_its_waiting_tasks_and_bulk_delete_removes_them()
    {
        // Nothing consumes these queues: the tasks wait (queued, or scheduled when delayed) until canceled.
        var queue = $"q{Guid.NewGuid():N}"[..20];
        var elsewhere = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "stays" }, queue = queue + "x" });
        var ours = new List<TaskView>
        {
            await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "a" }, queue }),
            await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 1 }, queue }),
            await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "later" }, queue, delaySeconds = 3600 }),
        };

        Assert.Equal(3, await BulkAsync("cancel?dryRun=true", new { queue }, "matched"));
        Assert.Equal(1, await BulkAsync("cancel?dryRun=true", new { queue, state = "scheduled" }, "matched"));
        Assert.Equal(3, await BulkAsync("cancel", new { queue }, "touched"));
        foreach (var t in ours)
        {
            var canceled = await stack.Http.GetTaskAsync(t.Id);
            Assert.Equal("canceled", canceled.State);
            Assert.Equal("Canceled before it ran.", canceled.Error);
        }
        Assert.NotEqual("canceled", (await stack.Http.GetTaskAsync(elsewhere.Id)).State);

        // Delete takes failed tasks unless the filter names another finished state.
        Assert.Equal(0, await BulkAsync("delete?dryRun=true", new { queue }, "matched"));
        Assert.Equal(3, await BulkAsync("delete?dryRun=true", new { queue, state = "canceled" }, "matched"));
        Assert.Equal(3, await BulkAsync("delete", new { queue, state = "canceled" }, "touched"));
        foreach (var t in ours)
        {
            using var gone = await stack.Http.GetAsync($"/api/v1/tasks/{t.Id}");
            await gone.AssertProblemAsync(HttpStatusCode.NotFound);
        }
        var page = await stack.Http.GetFromJsonAsync<PageView>($"/api/v1/tasks?queue={queue}", ApiExtensions.Json);
        Assert.Empty(page!.Items);
    }

    [Theory]
    [InlineData("retry", """{"state": "bogus"}""", "state")]
    [InlineData("retry", """{"state": "succeeded"}""", "state")]
    [InlineData("cancel", """{"state": "running"}""", "state")]
    [InlineData("delete", """{"state": "pending"}""", "state")]
    [InlineData("retry", """{"from": "yesterday"}""", "from")]
    [InlineData("retry", """{"from": "2026-12-07T10:00:00Z", "to": "2026-12-07T09:00:00Z"}""", "to")]
    [InlineData("retry", """{"nmae": "demo.fail"}""", "nmae")]
    [InlineData("retry", """{"name": 3}""", "name")]
    [InlineData("retry?dryRun=maybe", """{}""", "dryRun")]
    public async Task A_bad_filter_is_a_problem_naming_its_field_and_touches_nothing(string action, string body, string field)
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message = "x" }, delaySeconds = 3600 });
        using var response = await stack.Http.PostAsync($"/api/v1/tasks/bulk/{action}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotEmpty(problem.FieldError(field));
        Assert.Equal("scheduled", (await stack.Http.GetTaskAsync(task.Id)).State);
    }

    [Fact]
    public async Task Bulk_actions_need_the_admin_scope_and_the_failed_view_the_read_scope()
    {
        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        using var enqueuer = await stack.ClientWithKeyAsync(ApiKeyScope.Enqueue);
        foreach (var client in new[] { reader, enqueuer })
            foreach (var action in new[] { "retry", "cancel", "delete", "retry?dryRun=true" })
            {
                using var response = await client.PostJsonAsync($"/api/v1/tasks/bulk/{action}", new { });
                await response.AssertProblemAsync(HttpStatusCode.Forbidden);
            }
        using var groups = await reader.GetAsync("/api/v1/tasks/failed/groups");
        Assert.Equal(HttpStatusCode.OK, groups.StatusCode);
        using var anonymous = stack.AnonymousClient();
        using var refused = await anonymous.GetAsync("/api/v1/tasks/failed/groups");
        await refused.AssertProblemAsync(HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task The_list_filters_by_time_range_and_error()
    {
        var queue = $"q{Guid.NewGuid():N}"[..20];
        var first = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "1" }, queue });
        await Task.Delay(20);
        var middle = DateTimeOffset.UtcNow;
        await Task.Delay(20);
        var second = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "2" }, queue });

        async Task<List<Guid>> ListAsync(string query) =>
            (await stack.Http.GetFromJsonAsync<PageView>($"/api/v1/tasks?queue={queue}&{query}", ApiExtensions.Json))!.Items.ConvertAll(t => t.Id);
        var at = Uri.EscapeDataString(middle.ToString("O"));
        Assert.Equal([second.Id], await ListAsync($"from={at}"));
        Assert.Equal([first.Id], await ListAsync($"to={at}"));
        Assert.Equal([second.Id, first.Id], await ListAsync($"from={Uri.EscapeDataString(first.EnqueuedAt.AddSeconds(-1).ToString("O"))}"));
        Assert.Empty(await ListAsync("error=nothing%20like%20it"));
        using var bad = await stack.Http.GetAsync("/api/v1/tasks?from=soon");
        Assert.NotEmpty((await bad.AssertProblemAsync(HttpStatusCode.BadRequest)).FieldError("from"));
    }

    private async Task<long> BulkAsync(string action, object filter, string field)
    {
        using var response = await stack.Http.PostJsonAsync($"/api/v1/tasks/bulk/{action}", filter);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{action}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty(field).GetInt64();
    }
}
