using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The lease is the only licence to run: a worker cut off from the database stops its task before the lease can
/// have run out (the stack's lease is 3 s), so the task taken over elsewhere never runs twice at once.
/// </summary>
public sealed class LeaseTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task A_worker_that_cannot_renew_its_lease_stops_before_another_takes_the_task_over()
    {
        var queue = "lease-" + Guid.NewGuid().ToString("N")[..8];
        var run = Guid.NewGuid();
        await using var proxy = new TcpProxy(new NpgsqlConnectionStringBuilder(stack.Postgres).Port);
        var proxied = new NpgsqlConnectionStringBuilder(stack.Postgres) { Port = proxy.Port }.ConnectionString;
        // One task at a time and one message fetched: the task's message, republished by the relay, goes to the other worker.
        var cutOff = await stack.StartWorkerAsync(new()
        {
            ["Worker:Queues"] = queue, ["Worker:Name"] = "cut-off-" + queue, ["Worker:Concurrency"] = "1", ["Worker:Prefetch"] = "1",
        }, proxied);
        Microsoft.AspNetCore.Builder.WebApplication? other = null;
        var cut = false;
        try
        {
            var task = await stack.Http.EnqueueAsync(new { name = "test.exclusive", args = new { run, seconds = 10 }, queue });
            await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && TestObservations.Started.ContainsKey(run));
            other = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Name"] = "other-" + queue });

            proxy.Stop(); // the first worker can't renew its lease any more
            cut = true;
            var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded", seconds: 60);
            Assert.Equal("other-" + queue, done.Worker);

            var runs = TestObservations.Runs[run].OrderBy(r => r.Start).ToList();
            Assert.True(runs.Count >= 2, $"the task was not taken over: {runs.Count} run(s)");
            for (var i = 1; i < runs.Count; i++)
                Assert.True(runs[i].Start >= runs[i - 1].End,
                    $"run {i} ({runs[i].Worker}) began {Stopwatch.GetElapsedTime(runs[i].Start, runs[i - 1].End).TotalMilliseconds:0} ms before run {i - 1} ({runs[i - 1].Worker}) ended");
            Assert.Single(runs, r => r.Completed); // the cut-off run was stopped, not finished
        }
        finally
        {
            if (cut) proxy.Start();
            foreach (var host in new[] { other, cutOff })
            {
                if (host is null) continue;
                await host.StopAsync(TimeSpan.FromSeconds(10));
                await host.DisposeAsync();
            }
        }
    }
}
