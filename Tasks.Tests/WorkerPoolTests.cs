using Microsoft.Extensions.DependencyInjection;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

public sealed class WorkerPoolTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task Two_workers_on_the_same_queue_share_the_work()
    {
        var settings = new Dictionary<string, string?> { ["Worker:Name"] = "second-worker" };
        await using var second = await stack.StartWorkerAsync(settings);
        try
        {
            await ShareAsync();
        }
        finally
        {
            await second.StopAsync(TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task A_worker_s_connection_pool_holds_a_connection_for_every_task_it_may_run()
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        await using var worker = await stack.StartWorkerAsync(new()
        {
            ["Worker:Queues"] = $"pool-a-{suffix},pool-b-{suffix}", ["Worker:Name"] = "pool", ["Worker:Concurrency"] = "100",
        });
        var pool = new Npgsql.NpgsqlConnectionStringBuilder(worker.Services.GetRequiredService<Npgsql.NpgsqlDataSource>().ConnectionString);
        Assert.Equal(2 * 100 + 20, pool.MaxPoolSize); // and Npgsql's default (100) for the web app
        Assert.Equal(100, new Npgsql.NpgsqlConnectionStringBuilder(stack.Web.Services.GetRequiredService<Npgsql.NpgsqlDataSource>().ConnectionString).MaxPoolSize);
        await worker.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task A_slot_goes_to_the_next_task_while_a_success_waits_for_its_commit()
    {
        // One slot. The first task's success is held up by a lock on its row; with its handler done and nothing of
        // its own to commit, the slot runs the next task meanwhile. The handlers still never overlap.
        var queue = "slot-" + Guid.NewGuid().ToString("N")[..8];
        await using var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Name"] = "one-slot", ["Worker:Concurrency"] = "1" });
        var (firstRun, nextRun) = (Guid.NewGuid(), Guid.NewGuid());
        var first = await stack.Http.EnqueueAsync(new { name = "test.exclusive", args = new { run = firstRun, seconds = 2 }, queue });
        await stack.Http.WaitForStateAsync(first.Id, "running");

        await using var db = stack.OpenDatabase();
        await using var conn = await db.OpenConnectionAsync(TestContext.Current.CancellationToken);
        await using (var locking = await conn.BeginTransactionAsync(TestContext.Current.CancellationToken))
        {
            await using (var cmd = new Npgsql.NpgsqlCommand("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", conn, locking))
            {
                cmd.Parameters.Add(new() { Value = first.Id });
                await cmd.ExecuteScalarAsync(TestContext.Current.CancellationToken);
            }
            var next = await stack.Http.EnqueueAsync(new { name = "test.exclusive", args = new { run = nextRun, seconds = 0 }, queue });
            await stack.Http.WaitForAsync(next.Id, _ => TestObservations.Runs.ContainsKey(nextRun));

            Assert.Equal("running", (await stack.Http.GetTaskAsync(first.Id)).State); // its success still waits for the lock
            var (firstEnd, nextStart) = (TestObservations.Runs[firstRun].Single().End, TestObservations.Runs[nextRun].Single().Start);
            Assert.True(firstEnd <= nextStart, "two handlers ran at once in one slot");
            await locking.RollbackAsync(TestContext.Current.CancellationToken);
            await stack.Http.WaitForStateAsync(next.Id, "succeeded");
        }
        Assert.Equal(1, (await stack.Http.WaitForStateAsync(first.Id, "succeeded")).Attempts);
        await worker.StopAsync(TestContext.Current.CancellationToken);
    }

    private async Task ShareAsync()
    {
        var tasks = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            stack.Http.EnqueueAsync(new { name = "test.context", args = new { holdMilliseconds = 200 } })));
        var done = await Task.WhenAll(tasks.Select(t => stack.Http.WaitForStateAsync(t.Id, "succeeded")));

        var workers = done.GroupBy(t => t.Worker).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(2, workers.Count);
        Assert.Contains("second-worker", workers.Keys);
        Assert.All(done, t => Assert.Equal(1, t.Attempts));
    }

    [Fact]
    public async Task A_duplicate_message_for_a_running_task_does_not_run_it_again()
    {
        var queue = "dup-" + Guid.NewGuid().ToString("N")[..8];
        await using var first = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Name"] = "first" });
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 3 }, queue });
        await stack.Http.WaitForStateAsync(task.Id, "running");

        await using var second = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Name"] = "second" });
        await using (var scope = stack.Web.Services.CreateAsyncScope())
        {
            // What a relay that published the task again (a slow confirm, a crash after publishing) would send.
            var publisher = scope.ServiceProvider.GetRequiredService<Core.Enqueueing.TaskPublisher>();
            var duplicate = new Core.Lifecycle.TaskToPublish(task.Id, task.Name, queue);
            await publisher.PublishAsync([duplicate, duplicate], TestContext.Current.CancellationToken);
        }

        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        Assert.Equal(1, done.Attempts);
        Assert.Equal("first", done.Worker);
        await second.StopAsync(TestContext.Current.CancellationToken);
        await first.StopAsync(TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Cleanup_deletes_finished_tasks_older_than_the_retention_and_keeps_the_rest()
    {
        var old = Guid.CreateVersion7();
        var recent = Guid.CreateVersion7();
        var unfinished = Guid.CreateVersion7();
        const string insert = """
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds,
                               backoff_seconds, enqueued_at, updated_at, finished_at, cancel_requested)
            VALUES ($1, 'demo.echo', 'default', $2, '{}', 1, 1, 0, 30, 1, now() - $3::interval, now(),
                    CASE WHEN $2 = 'scheduled' THEN NULL ELSE now() - $3::interval END, false)
            """;
        await stack.ExecuteAsync(insert, old, "succeeded", "40 days");
        await stack.ExecuteAsync(insert, recent, "failed", "2 days");
        await stack.ExecuteAsync(insert, unfinished, "scheduled", "40 days");

        var cleanup = await stack.Http.EnqueueAsync(new { name = "tasks.cleanup", args = new { retentionDays = 30 } });
        var done = await stack.Http.WaitForStateAsync(cleanup.Id, "succeeded");

        Assert.True(done.Result!.Value.GetProperty("deleted").GetInt32() >= 1);
        Assert.Equal(0, await stack.CountAsync("tasks WHERE id = $1", old));
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1", recent));
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1", unfinished));
    }
}
