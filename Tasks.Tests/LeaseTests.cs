using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Tasks.Tests.Infrastructure;
using Tasks.Worker;
using Tasks.Worker.Execution;

namespace Tasks.Tests;

/// <summary>
/// The lease is the only licence to run: a worker cut off from the database stops its task before the lease can
/// have run out (this class's lease is 3 s; the stacks' default is 10), so the task taken over elsewhere never runs twice at once.
/// </summary>
public sealed class LeaseTests(LeaseTests.Stack stack) : IClassFixture<LeaseTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        protected override Dictionary<string, string?> Settings => new(base.Settings) { ["Tasks:LeaseSeconds"] = "3" };
    }

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

    [Theory]
    [InlineData(750, true)]  // a quarter of the 3 s lease
    [InlineData(751, false)]
    public void A_worker_whose_renewals_would_come_too_late_fails_at_start_up(int pollMilliseconds, bool valid)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Tasks"] = stack.Postgres,
            ["ConnectionStrings:RabbitMq"] = stack.Rabbit.ToString(),
            ["Tasks:LeaseSeconds"] = "3",
            ["Worker:CancelPollMilliseconds"] = pollMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        builder.AddTasksWorker();
        using var host = builder.Build();

        var options = () => host.Services.GetRequiredService<IOptions<WorkerOptions>>().Value;
        if (valid) Assert.Equal(pollMilliseconds, options().CancelPollMilliseconds);
        else Assert.Contains("Worker:CancelPollMilliseconds", Assert.Throws<OptionsValidationException>(options).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_heartbeat_s_lost_answer_spares_an_attempt_claimed_after_it_began()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var clock = TimeProvider.System;
        var running = new RunningTasks(services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            Options.Create(new WorkerOptions()), Options.Create(new Tasks.Core.Hosting.TasksOptions { LeaseSeconds = 10 }), clock);
        var id = Guid.NewGuid();

        // A heartbeat begins for an attempt that then ends; a new attempt of the same task is claimed here meanwhile.
        var heartbeat = clock.GetTimestamp();
        Thread.Sleep(5);
        using var attempt = running.TryStart(id, CancellationToken.None)!;
        attempt.Claimed(clock.GetTimestamp());
        Thread.Sleep(5);

        Assert.False(running.LoseLease(id, heartbeat)); // the answer was about the earlier attempt
        Assert.False(attempt.LeaseLost);
        Assert.True(running.LoseLease(id, clock.GetTimestamp())); // a heartbeat that began after the claim
        Assert.True(attempt.LeaseLost);
    }
}
