using System.Net;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>Nothing is lost when processes die: a worker killed mid-task, a web process that can't publish.</summary>
public sealed class CrashTests(CrashTests.Stack stack) : IClassFixture<CrashTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        protected override Dictionary<string, string?> Settings => new(base.Settings)
        {
            // The default: shorter, a loaded machine's slow publish gets a second message from the relay, and the
            // packed-message test no longer has its four tasks in one.
            ["Relay:PendingGraceSeconds"] = "5",
            ["Tasks:LeaseSeconds"] = "3", // a killed worker's task is taken over once its lease runs out
        };
    }

    [Fact]
    public async Task Worker_killed_mid_task_the_task_runs_again_and_finishes()
    {
        var queue = "crash-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.ProcessEnvironment(0);
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 5 }, queue });

        await using (var doomed = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue))
        {
            await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && t.Progress.Current >= 1);
            doomed.Kill(); // SIGKILL: no cleanup, no ack; the broker gets the message back when the connection drops
            await doomed.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        Assert.Equal("running", (await stack.Http.GetTaskAsync(task.Id)).State);

        await using var survivor = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue);
        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded", seconds: 30);
        Assert.Equal(2, done.Attempts);
    }

    [Fact]
    public async Task Worker_killed_mid_message_runs_only_the_message_s_unfinished_tasks_again()
    {
        var queue = "crash-packed-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.ProcessEnvironment(0);
        // One message (up to ten tasks of a batch share one): three quick tasks and a slow one.
        var tasks = await stack.Http.EnqueueBatchAsync(
            new { name = "demo.echo", args = new { }, queue }, new { name = "demo.echo", args = new { }, queue },
            new { name = "demo.echo", args = new { }, queue }, new { name = "demo.sleep", args = new { seconds = 5 }, queue });
        var (quick, slow) = (tasks[..3], tasks[3]);

        List<TaskView> finished = [];
        await using (var doomed = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue))
        {
            await stack.Http.WaitForAsync(slow.Id, t => t.State == "running" && t.Progress.Current >= 1);
            foreach (var t in quick) finished.Add(await stack.Http.WaitForStateAsync(t.Id, "succeeded"));
            // One message brought all four (a claim records the message that started the attempt).
            Assert.Equal(1, await stack.CountAsync("(SELECT DISTINCT message_id FROM tasks WHERE id = ANY($1)) m", tasks.Select(t => t.Id).ToArray()));
            doomed.Kill(); // the message isn't acked: it comes back whole
            await doomed.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }

        await using var survivor = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue);
        Assert.Equal(2, (await stack.Http.WaitForStateAsync(slow.Id, "succeeded", seconds: 30)).Attempts);
        foreach (var before in finished)
        {
            var after = await stack.Http.GetTaskAsync(before.Id); // dropped at their claim on the redelivery: not run again
            Assert.Equal((1, before.FinishedAt), (after.Attempts, after.FinishedAt));
        }
    }

    [Fact]
    public async Task SIGTERM_lets_a_running_task_finish_within_the_grace_period()
    {
        var queue = "term-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.ProcessEnvironment(0);
        env["Worker__ShutdownGraceSeconds"] = "10";
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 2 }, queue });

        await using var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue);
        await stack.Http.WaitForStateAsync(task.Id, "running");
        await worker.TerminateAsync();
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));

        var done = await stack.Http.GetTaskAsync(task.Id);
        Assert.Equal("succeeded", done.State);
        Assert.Equal(1, done.Attempts);
        Assert.Equal(0, worker.ExitCode);
    }

    [Fact]
    public async Task SIGTERM_starts_no_more_tasks_of_a_message_and_the_rest_of_it_runs_after()
    {
        var queue = "term-packed-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.ProcessEnvironment(0);
        env["Worker__ShutdownGraceSeconds"] = "10";
        env["Worker__Concurrency"] = "1";
        var tasks = await stack.Http.EnqueueBatchAsync([.. Enumerable.Range(0, 3).Select(_ =>
            new { name = "demo.sleep", args = new { seconds = 2 }, queue })]); // one message

        await using (var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue))
        {
            await stack.Http.WaitForStateAsync(tasks[0].Id, "running");
            await worker.TerminateAsync();
            await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, worker.ExitCode);
        }
        // The running one finished within the grace; the two waiting for the slot were never started.
        var first = await stack.Http.GetTaskAsync(tasks[0].Id);
        Assert.Equal(("succeeded", 1), (first.State, first.Attempts));
        foreach (var t in tasks[1..]) Assert.Equal(0, (await stack.Http.GetTaskAsync(t.Id)).Attempts);

        await using var next = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue);
        foreach (var t in tasks[1..]) Assert.Equal(1, (await stack.Http.WaitForStateAsync(t.Id, "succeeded")).Attempts);
        Assert.Equal(first.FinishedAt, (await stack.Http.GetTaskAsync(tasks[0].Id)).FinishedAt); // not run again
    }

    [Fact]
    public async Task SIGTERM_past_the_grace_period_puts_the_task_back_on_the_queue()
    {
        var queue = "requeue-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.ProcessEnvironment(0);
        env["Worker__ShutdownGraceSeconds"] = "1";
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 60 }, queue });

        await using (var worker = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue))
        {
            await stack.Http.WaitForStateAsync(task.Id, "running");
            await worker.TerminateAsync();
            await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.True(worker.Output.Contains("goes back to the queue", StringComparison.Ordinal), worker.Output);
            Assert.Equal(0, worker.ExitCode);
        }

        // The next worker gets the message back and takes the task over; canceling it ends the test quickly.
        await using var next = await HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue);
        await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && t.Attempts == 2);
        using var cancel = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        Assert.Equal(2, (await stack.Http.WaitForStateAsync(task.Id, "canceled")).Attempts);
    }

    [Fact]
    public async Task A_running_task_whose_worker_vanished_without_a_trace_is_put_back_and_finishes()
    {
        // A task left running with no message anywhere (its worker gone, its message lost): only the lease can
        // tell, and the relay puts it back once the lease has run out.
        var id = Guid.CreateVersion7();
        await stack.ExecuteAsync("""
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds,
                               backoff_seconds, enqueued_at, started_at, updated_at, heartbeat_at, worker, message_id, cancel_requested)
            VALUES ($1, 'demo.echo', 'default', 'running', '{"message":"back"}', 1, 1, 0, 30, 1, now(), now(), now(),
                    now() - interval '1 minute', 'worker@gone:1', $2, false)
            """, id, Guid.NewGuid());

        var done = await stack.Http.WaitForStateAsync(id, "succeeded");
        Assert.Equal(2, done.Attempts);
        Assert.Equal("back", done.Result!.Value.GetProperty("message").GetString());
        Assert.NotEqual("worker@gone:1", done.Worker);
    }

    [Fact]
    public async Task A_task_with_a_live_lease_is_left_alone()
    {
        var id = Guid.CreateVersion7();
        await stack.ExecuteAsync("""
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds,
                               backoff_seconds, enqueued_at, started_at, updated_at, heartbeat_at, worker, message_id, cancel_requested)
            VALUES ($1, 'demo.echo', 'default', 'running', '{}', 1, 1, 0, 30, 1, now(), now(), now(),
                    now() + interval '1 hour', 'worker@elsewhere:1', $2, false)
            """, id, Guid.NewGuid());

        await Task.Delay(1500); // several relay rounds
        var task = await stack.Http.GetTaskAsync(id);
        Assert.Equal("running", task.State);
        Assert.Equal(1, task.Attempts);
    }

    [Fact]
    public async Task Task_committed_but_never_published_is_published_by_the_sweeper()
    {
        // A web host whose broker is unreachable commits the task and can't publish it: exactly what a process
        // dying between commit and publish leaves behind.
        var settings = new Dictionary<string, string?>(stack.ProcessEnvironment(0).ToDictionary(p => p.Key, p => (string?)p.Value))
        {
            ["Tasks:PublishTimeoutSeconds"] = "1",
        };
        await using var cutOff = stack.BuildWeb(settings, rabbit: "amqp://guest:guest@127.0.0.1:1/");
        await cutOff.StartAsync();
        var address = cutOff.Urls.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        http.DefaultRequestHeaders.Authorization = stack.Http.DefaultRequestHeaders.Authorization;

        var task = await http.EnqueueAsync(new { name = "demo.echo", args = new { message = "swept" } });
        Assert.Equal("pending", task.State); // accepted and committed, not handed to the broker

        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        Assert.Equal("swept", done.Result!.Value.GetProperty("message").GetString());
        Assert.Equal(1, done.Attempts);
    }
}
