using System.Net;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>What a worker does with tasks, seen through the HTTP API as a user would.</summary>
public sealed class ExecutionTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task Progress_is_visible_from_the_API_while_the_task_runs()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 4 } });

        var running = await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && t.Progress.Current >= 1);
        Assert.Equal(4, running.Progress.Total);
        Assert.Contains("of 4", running.Progress.Message);

        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        Assert.Equal(4, done.Progress.Current);
    }

    [Fact]
    public async Task Failing_task_is_retried_with_backoff_then_failed_then_retried_by_hand()
    {
        var task = await stack.Http.EnqueueAsync(new
        {
            name = "demo.fail", args = new { message = "boom", failTimes = 3 }, maxAttempts = 3, backoffSeconds = 0.4,
        });

        var states = new List<string>();
        var failed = await stack.Http.WaitForAsync(task.Id, t => { states.Add(t.State); return t.State == "failed"; });
        Assert.Contains("scheduled", states); // waited out its back-off in PostgreSQL between attempts
        Assert.Equal(3, failed.Attempts);
        Assert.Contains("boom", failed.Error);
        Assert.Contains("DemoFailureException", failed.ErrorDetails);
        Assert.Contains(" at ", failed.ErrorDetails); // the stack trace

        using var retry = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/retry", null);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        Assert.Equal(4, done.Attempts);
        Assert.Null(done.Error);

        using var again = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/retry", null);
        await again.AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Delayed_task_waits_for_its_time()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "later" }, delaySeconds = 1.5 });
        Assert.Equal("scheduled", task.State);
        Assert.NotNull(task.ScheduledFor);

        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        Assert.True(done.StartedAt >= task.ScheduledFor, $"started {done.StartedAt:O} before its time {task.ScheduledFor:O}");
    }

    [Fact]
    public async Task Canceled_scheduled_task_never_runs()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, delaySeconds = 3 });
        using var cancel = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);

        await Task.Delay(3500); // past its time: the relay must not release it
        var after = await stack.Http.GetTaskAsync(task.Id);
        Assert.Equal("canceled", after.State);
        Assert.Equal(0, after.Attempts);
        Assert.Null(after.StartedAt);

        using var twice = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        await twice.AssertProblemAsync(HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Canceled_queued_task_is_dropped_when_its_message_arrives()
    {
        var queue = "parked-" + Guid.NewGuid().ToString("N")[..8]; // nobody consumes it yet
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue });
        Assert.Equal("queued", task.State);
        using var cancel = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);

        await using var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Concurrency"] = "1" });
        // The queue is FIFO and the worker takes one at a time: once a later task is done, the canceled one's
        // message has been consumed.
        var marker = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue });
        await stack.Http.WaitForStateAsync(marker.Id, "succeeded");
        await worker.StopAsync(TestContext.Current.CancellationToken);

        var after = await stack.Http.GetTaskAsync(task.Id);
        Assert.Equal("canceled", after.State);
        Assert.Equal(0, after.Attempts);
    }

    [Fact]
    public async Task Task_past_its_expiry_is_skipped_and_recorded_expired()
    {
        var queue = "parked-" + Guid.NewGuid().ToString("N")[..8];
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue, expiresAt = DateTimeOffset.UtcNow.AddSeconds(1) });
        await Task.Delay(1500);

        await using var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue });
        var expired = await stack.Http.WaitForStateAsync(task.Id, "expired");
        await worker.StopAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, expired.Attempts);
        Assert.Null(expired.StartedAt);
        Assert.NotNull(expired.FinishedAt);
    }

    [Fact]
    public async Task Canceling_a_running_task_fires_its_token_and_it_ends_canceled()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 60 } });
        await stack.Http.WaitForStateAsync(task.Id, "running");

        using var cancel = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);

        var done = await stack.Http.WaitForStateAsync(task.Id, "canceled", seconds: 15);
        Assert.Equal(1, done.Attempts);
        Assert.NotNull(done.FinishedAt);
    }

    [Fact]
    public async Task Task_past_its_time_limit_fails_as_timed_out()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 30 }, timeLimitSeconds = 1 });

        var done = await stack.Http.WaitForStateAsync(task.Id, "failed", seconds: 15);
        Assert.Contains("Timed out", done.Error);
    }

    [Fact]
    public async Task Task_ignoring_its_token_is_abandoned_after_the_grace_and_the_worker_stays_healthy()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "test.stubborn", args = new { seconds = 20 } });

        var done = await stack.Http.WaitForStateAsync(task.Id, "failed", seconds: 15);
        Assert.Contains("abandoned", done.Error);

        var next = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "still here" } });
        await stack.Http.WaitForStateAsync(next.Id, "succeeded");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // abandoned in the middle of a query: its session is ended, not its connection closed under it
    public async Task An_abandoned_handler_never_writes_into_a_later_message_s_DbContext(bool inQuery)
    {
        // One slot and a queue of its own: the worker's context pool holds little more than the abandoned handler's
        // context, so the next message would get it if it went back to the pool.
        var queue = "linger-" + Guid.NewGuid().ToString("N")[..8];
        await using var worker = await stack.StartWorkerAsync(new()
        {
            ["Worker:Queues"] = queue, ["Worker:Name"] = "linger", ["Worker:Concurrency"] = "1", ["Worker:Prefetch"] = "1",
        });
        var id = Guid.NewGuid();
        var lingering = await stack.Http.EnqueueAsync(new { name = "test.lingering", args = new { id, seconds = 5, inQuery }, queue });
        // Runs once the first is abandoned (~3 s in) and holds its transaction open while the first wakes up (5 s).
        var next = await stack.Http.EnqueueAsync(new { name = "test.context", args = new { holdMilliseconds = 4000 }, queue });

        var abandoned = await stack.Http.WaitForStateAsync(lingering.Id, "failed", seconds: 15);
        Assert.Contains("abandoned", abandoned.Error);
        // Recorded only once its session has gone, with its query, its write and its locks.
        Assert.Equal(0, await stack.CountAsync("pg_stat_activity WHERE datname = current_database() AND query LIKE $1", "%pg_sleep(%"));
        await stack.Http.WaitForStateAsync(next.Id, "succeeded", seconds: 20);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        IReadOnlyList<string>? tried;
        while (!TestObservations.LateWrites.TryGetValue(id, out tried) && DateTime.UtcNow < deadline) await Task.Delay(100);

        Assert.NotNull(tried);
        // Its session was ended under its query ("terminating connection due to administrator command").
        if (inQuery) Assert.Equal($"query: {Npgsql.PostgresErrorCodes.AdminShutdown}", tried[0]);
        Assert.Equal(inQuery ? 4 : 3, tried.Count); // it went on and tried all three ways: tracked, SQL, plain ADO.NET
        Assert.Equal(0, await stack.CountAsync("api_keys WHERE name LIKE $1", $"lingering-{id}-%"));
        await worker.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task An_abandoned_handler_s_ended_session_never_goes_back_to_the_pool()
    {
        var queue = "quiet-" + Guid.NewGuid().ToString("N")[..8];
        await using var worker = await stack.StartWorkerAsync(new()
        {
            ["Worker:Queues"] = queue, ["Worker:Name"] = "quiet", ["Worker:Concurrency"] = "1", ["Worker:Prefetch"] = "1",
        });
        var id = Guid.NewGuid();
        // Its session is ended while it sleeps; it returns later without touching its connection, which never learns.
        var lingering = await stack.Http.EnqueueAsync(new { name = "test.lingering", args = new { id, seconds = 5, quiet = true }, queue });
        await stack.Http.WaitForStateAsync(lingering.Id, "failed", seconds: 15);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!TestObservations.LateWrites.ContainsKey(id) && DateTime.UtcNow < deadline) await Task.Delay(100);
        Assert.True(TestObservations.LateWrites.ContainsKey(id), "the abandoned handler never returned");
        await Task.Delay(1000); // its connection is thrown away as it returns (a continuation on the thread pool)

        // Had that connection gone back to the pool, one of these handlers would get it and fail its first command.
        for (var i = 0; i < 10; i++)
        {
            var next = await stack.Http.EnqueueAsync(new { name = "test.context", args = new { holdMilliseconds = 0 }, queue });
            var done = await stack.Http.WaitForStateAsync(next.Id, "succeeded", seconds: 20);
            Assert.Equal(1, done.Attempts);
        }
        await worker.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task After_commit_callbacks_run_after_the_commit_in_order_and_never_on_rollback()
    {
        var ok = "ok-" + Guid.NewGuid();
        var bad = "bad-" + Guid.NewGuid();
        var committed = await stack.Http.EnqueueAsync(new { name = "test.aftercommit", args = new { marker = ok } });
        var rolledBack = await stack.Http.EnqueueAsync(new { name = "test.aftercommit", args = new { marker = bad, fail = true } });

        await stack.Http.WaitForStateAsync(committed.Id, "succeeded");
        await stack.Http.WaitForStateAsync(rolledBack.Id, "failed");
        await Task.Delay(200);

        var seen = TestObservations.AfterCommit.Where(o => o.Marker == ok).ToList();
        Assert.Equal([1, 2, 3], seen.Select(o => o.Step));
        Assert.All(seen, o => Assert.Equal("succeeded", o.StateAtCallback));
        Assert.DoesNotContain(TestObservations.AfterCommit, o => o.Marker == bad);
    }

    [Fact]
    public async Task A_failing_handler_leaves_none_of_its_database_changes_behind()
    {
        Guid tracked = Guid.NewGuid(), sql = Guid.NewGuid();
        var failing = await stack.Http.EnqueueAsync(new { name = "test.dbwrite", args = new { trackedId = tracked, sqlId = sql, fail = true } });
        await stack.Http.WaitForStateAsync(failing.Id, "failed");
        Assert.Equal(0, await stack.CountAsync("api_keys WHERE id = ANY($1)", new[] { tracked, sql }));

        Guid tracked2 = Guid.NewGuid(), sql2 = Guid.NewGuid();
        var succeeding = await stack.Http.EnqueueAsync(new { name = "test.dbwrite", args = new { trackedId = tracked2, sqlId = sql2 } });
        await stack.Http.WaitForStateAsync(succeeding.Id, "succeeded");
        Assert.Equal(2, await stack.CountAsync("api_keys WHERE id = ANY($1)", new[] { tracked2, sql2 }));
    }

    [Fact]
    public async Task Plain_ADO_NET_on_the_handlers_connection_commits_with_its_success_and_rolls_back_with_its_failure()
    {
        // Its only write is a plain command (no EF Core call), the case where a worker could think the handler
        // never touched the database and leave its transaction uncommitted.
        Guid kept = Guid.NewGuid(), dropped = Guid.NewGuid();
        var succeeding = await stack.Http.EnqueueAsync(new { name = "test.rawwrite", args = new { id = kept } });
        var failing = await stack.Http.EnqueueAsync(new { name = "test.rawwrite", args = new { id = dropped, fail = true } });
        await stack.Http.WaitForStateAsync(succeeding.Id, "succeeded");
        await stack.Http.WaitForStateAsync(failing.Id, "failed");

        Assert.Equal(1, await stack.CountAsync("api_keys WHERE id = $1", kept));
        Assert.Equal(0, await stack.CountAsync("api_keys WHERE id = $1", dropped));
    }

    [Fact]
    public async Task A_result_PostgreSQL_cannot_store_fails_the_task_once_with_a_clear_error()
    {
        // A literal backslash and "u0000" is ordinary text; a NUL character is what jsonb refuses.
        var plain = await stack.Http.EnqueueAsync(new { name = "test.result", args = new { text = "\\u0000" } });
        var nul = await stack.Http.EnqueueAsync(new { name = "test.result", args = new { text = "half", nul = true } });

        var stored = await stack.Http.WaitForStateAsync(plain.Id, "succeeded");
        Assert.Equal("\\u0000", stored.Result!.Value.GetProperty("text").GetString());
        var refused = await stack.Http.WaitForStateAsync(nul.Id, "failed");
        Assert.Equal(1, refused.Attempts); // not retried: the same result would be refused again
        Assert.Contains("NUL", refused.Error, StringComparison.Ordinal);
        Assert.Null(refused.Result);
    }

    [Fact]
    public async Task Concurrent_messages_never_share_a_DbContext()
    {
        var tasks = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            stack.Http.EnqueueAsync(new { name = "test.context", args = new { holdMilliseconds = 700 } })));
        foreach (var t in tasks) await stack.Http.WaitForStateAsync(t.Id, "succeeded");

        var contexts = tasks.Select(t => TestObservations.Contexts[t.Id]).ToList();
        Assert.Equal(8, contexts.Select(c => c.ContextInstance).Distinct().Count());
        Assert.True(TestObservations.MaxConcurrent > 1, "the handlers never overlapped, so the test proved nothing");
    }

    [Fact]
    public async Task A_progress_report_that_meets_a_dead_pooled_connection_does_not_fail_its_task()
    {
        var gate = Guid.NewGuid();
        var task = await stack.Http.EnqueueAsync(new { name = "test.gated", args = new { gate } });
        await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && t.Progress.Total == 1);

        // The sessions of the idle pooled connections end (a restart would end them all; the task's own, in its
        // transaction, is spared here): the next progress report gets one of them, and learns only by using it.
        await stack.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND state = 'idle' AND pid <> pg_backend_pid()", stack.Name);
        TestObservations.Gates.GetOrAdd(gate, _ => new()).SetResult();

        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        Assert.Equal(1, done.Attempts);
        Assert.Equal(1, done.Progress.Current);
    }
}
