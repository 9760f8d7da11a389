using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tasks.Core.Lifecycle;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The failed view's groups come from a summary the database keeps itself (triggers on <c>tasks</c>, the
/// FailedGroups migration), not from reading every failed row: whatever moves tasks into or out of <c>failed</c>,
/// the groups must say what a <c>GROUP BY</c> over the table would.
/// </summary>
public sealed class FailedGroupsTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task Groups_equal_a_group_by_over_the_rows_after_fails_retries_deletes_and_bulk_moves()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        // Real failures through the worker: two errors of demo.fail, and a different name.
        var enqueues = Enumerable.Range(0, 12).Select(i => stack.Http.EnqueueAsync(
            new { name = "demo.fail", args = new { message = $"{run} kind {i % 2}", failTimes = 5 }, maxAttempts = 1 }));
        var tasks = await Task.WhenAll(enqueues);
        for (var i = 0; i < 4; i++) await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = run } });
        await WaitUntilSettledAsync();
        await AssertMatchAsync();

        // Failed in one statement, many rows, with multi-line errors (a stack trace) and without an error at all.
        await stack.ExecuteAsync(
            """
            UPDATE tasks SET state = 'failed', finished_at = now(),
                error = CASE WHEN id::text < '8' THEN E'TimeoutException: late\n   at Somewhere()' END
            WHERE id IN (SELECT id FROM tasks WHERE state = 'succeeded' OR id = ANY($1) LIMIT 20)
            """, tasks.Select(t => t.Id).Take(2).ToArray());
        await AssertMatchAsync();

        // Retry by hand (it runs and fails again), and the retention clean-up deleting rows.
        (await stack.Http.PostAsync($"/api/v1/tasks/{tasks[2].Id}/retry", null)).EnsureSuccessStatusCode();
        await stack.Http.WaitForAsync(tasks[2].Id, t => t.State == "failed" && t.Attempts == 2);
        await stack.ExecuteAsync("DELETE FROM tasks WHERE id = ANY($1)", tasks.Skip(3).Take(2).Select(t => t.Id).ToArray());
        await AssertMatchAsync();

        // Bulk moves: retry a whole group, delete another.
        await BulkAsync("retry", new { name = "demo.fail", error = $"DemoFailureException: {run} kind 0" });
        await BulkAsync("delete", new { state = "failed", error = "TimeoutException: late" });
        await WaitUntilSettledAsync();
        await AssertMatchAsync();

        await stack.Web.Services.GetRequiredService<TaskStateMachine>().FoldStateCountsAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, await stack.CountAsync("task_failed_groups WHERE slot <> 0"));
        await AssertMatchAsync();
    }

    /// <summary>The groups <c>GET /api/v1/tasks/failed/groups</c> answers, against the table's own GROUP BY.</summary>
    private async Task AssertMatchAsync()
    {
        var expected = new List<(string, string, long)>();
        var latest = new Dictionary<(string, string), DateTimeOffset?>();
        await using (var db = stack.OpenDatabase())
        await using (var cmd = db.CreateCommand(
            """
            SELECT name, split_part(coalesce(error, ''), E'\n', 1), count(*), max(finished_at)
            FROM tasks WHERE state = 'failed' GROUP BY 1, 2 ORDER BY 1, 2
            """))
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                expected.Add((reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
                latest[(reader.GetString(0), reader.GetString(1))] = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3);
            }
        }
        var groups = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/tasks/failed/groups", ApiExtensions.Json);
        var actual = groups.GetProperty("items").EnumerateArray()
            .Select(g => (g.GetProperty("name").GetString()!, g.GetProperty("error").GetString()!, g.GetProperty("count").GetInt64()))
            .Order().ToList();
        Assert.Equal(expected, actual);
        // "Last failed" is when a task last entered the group: never before its members' last failure.
        foreach (var g in groups.GetProperty("items").EnumerateArray())
        {
            var at = latest[(g.GetProperty("name").GetString()!, g.GetProperty("error").GetString()!)];
            if (at is { } max) Assert.True(g.GetProperty("lastFailedAt").GetDateTimeOffset() >= max.AddMilliseconds(-1), g.ToString());
        }
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

    private async Task BulkAsync(string action, object filter)
    {
        using var response = await stack.Http.PostJsonAsync($"/api/v1/tasks/bulk/{action}", filter);
        Assert.True(response.IsSuccessStatusCode, $"{action}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}
