using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tasks.Core.Lifecycle;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// Counts by state come from counters the database keeps itself (triggers on <c>tasks</c>), not from counting rows:
/// whatever writes the rows, the counters must say what a <c>count(*)</c> would. The same triggers keep
/// <c>task_lookup</c> (each task's name and queue, for lists by name or queue) equal to the rows.
/// </summary>
public sealed class StateCountsTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task Counts_equal_the_rows_after_every_kind_of_write_and_after_a_fold()
    {
        // Through the API, concurrently: batches (one statement, many rows), single enqueues, runs, failures.
        var enqueues = Enumerable.Range(0, 8).Select(i => stack.Http.PostJsonAsync("/api/v1/tasks/batch", new
        {
            tasks = Enumerable.Range(0, 25).Select(j => new { name = "demo.echo", args = new { message = $"{i}.{j}" } }).ToArray(),
        })).Concat(Enumerable.Range(0, 10).Select(_ => stack.Http.PostJsonAsync("/api/v1/tasks",
            new { name = "demo.fail", args = new { message = "boom", failTimes = 5 }, maxAttempts = 1 })));
        foreach (var response in await Task.WhenAll(enqueues)) response.EnsureSuccessStatusCode();
        var later = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "later" }, runAt = DateTimeOffset.UtcNow.AddHours(1) });
        var canceled = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "no" }, runAt = DateTimeOffset.UtcNow.AddHours(1) });
        (await stack.Http.PostAsync($"/api/v1/tasks/{canceled.Id}/cancel", null)).EnsureSuccessStatusCode();
        await WaitUntilSettledAsync();

        // Retry by hand (failed → pending → …), and rows deleted in bulk as the retention clean-up does.
        var failed = await stack.CountAsync("tasks WHERE state = 'failed'");
        Assert.Equal(10, failed);
        await using (var db = stack.OpenDatabase())
        await using (var cmd = db.CreateCommand("SELECT id FROM tasks WHERE state = 'failed' LIMIT 1"))
            (await stack.Http.PostAsync($"/api/v1/tasks/{(Guid)(await cmd.ExecuteScalarAsync())!}/retry", null)).EnsureSuccessStatusCode();
        await stack.ExecuteAsync("DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE state = 'succeeded' LIMIT 30)");
        await WaitUntilSettledAsync();

        var expected = await CountRowsAsync();
        Assert.Equal(1, expected["scheduled"]);
        Assert.Equal(1, expected["canceled"]);
        Assert.Equal(170, expected["succeeded"]);
        Assert.Equal(expected, await CountersAsync());
        Assert.Equal(expected.Values.Sum(), await stack.CountAsync("task_lookup"));
        Assert.Equal(0, await stack.CountAsync(
            "tasks t FULL JOIN task_lookup l ON l.id = t.id WHERE t.id IS NULL OR l.id IS NULL OR l.name <> t.name OR l.queue <> t.queue"));

        await stack.Web.Services.GetRequiredService<TaskStateMachine>().FoldStateCountsAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, await stack.CountAsync("task_state_counts WHERE slot <> 0"));
        Assert.Equal(expected, await CountersAsync());
        Assert.Equal("scheduled", (await stack.Http.GetTaskAsync(later.Id)).State);
    }

    [Fact]
    public async Task A_tasks_name_and_queue_never_change()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "x" }, runAt = DateTimeOffset.UtcNow.AddHours(1) });
        var refused = await Assert.ThrowsAsync<PostgresException>(() => stack.ExecuteAsync("UPDATE tasks SET queue = 'elsewhere' WHERE id = $1", task.Id));
        Assert.Equal(PostgresErrorCodes.IntegrityConstraintViolation, refused.SqlState);
        await Assert.ThrowsAsync<PostgresException>(() => stack.ExecuteAsync("UPDATE tasks SET name = 'demo.fail' WHERE id = $1", task.Id));
        // Any other column still may (the row's own update, with its name and queue written back unchanged, too).
        await stack.ExecuteAsync("UPDATE tasks SET name = name, queue = queue, max_attempts = 7 WHERE id = $1", task.Id);
        Assert.Equal(1, await stack.CountAsync("task_lookup WHERE id = $1 AND name = 'demo.echo' AND queue = 'default'", task.Id));
        // Gone again, with its copy: the other test here counts this stack's rows by state.
        await stack.ExecuteAsync("DELETE FROM tasks WHERE id = $1", task.Id);
        Assert.Equal(0, await stack.CountAsync("task_lookup WHERE id = $1", task.Id));
    }

    /// <summary>Every task that can finish has: the rows stop changing.</summary>
    private async Task WaitUntilSettledAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await stack.CountAsync("tasks WHERE state IN ('pending', 'queued', 'running')") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "tasks did not settle");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    private async Task<Dictionary<string, long>> CountersAsync()
    {
        var counts = (await stack.Http.GetFromJsonAsync<Dictionary<string, long>>("/api/v1/tasks/counts", ApiExtensions.Json))!;
        return counts.Where(c => c.Value != 0).ToDictionary();
    }

    private async Task<Dictionary<string, long>> CountRowsAsync()
    {
        var counts = new Dictionary<string, long>();
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand("SELECT state, count(*) FROM tasks GROUP BY state");
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) counts[reader.GetString(0)] = reader.GetInt64(1);
        return counts;
    }
}
