using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tasks.Scheduler;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The relay under faults of its own rows and hosts: a row the broker refuses, a scheduler whose clock is wrong, a
/// queued task whose message is gone. Each test starts the scheduler it needs (the stack starts none).
/// </summary>
public sealed partial class RelayTests(RelayTests.Stack stack) : IClassFixture<RelayTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        protected override bool StartScheduler => false;
    }

    private async Task<Stopping> StartSchedulerAsync(Dictionary<string, string?> settings, TimeProvider? clock = null) => new(await
        stack.StartHostAsync("Tasks.Scheduler", new Dictionary<string, string?>(new Dictionary<string, string?>
        {
            ["Relay:PollMilliseconds"] = "100",
            ["Tasks:LeaseSeconds"] = "3",
            ["Tasks:PublishTimeoutSeconds"] = "3",
        }.Concat(settings)), b =>
        {
            b.AddTasksScheduler();
            if (clock is not null) b.Services.AddSingleton(clock); // the last registration wins
        }));

    /// <summary>A host stopped (its relay loop ended) before it is disposed, however the test ends.</summary>
    private sealed class Stopping(WebApplication host) : IAsyncDisposable
    {
        public WebApplication Host { get; } = host;

        public async ValueTask DisposeAsync()
        {
            using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
                await Host.StopAsync(timeout.Token);
            await Host.DisposeAsync();
        }
    }

    /// <summary>A task row written straight to the database: what no API would accept, or a publish that never happened.</summary>
    private Task InsertPendingAsync(Guid id, string queue, string age) => stack.ExecuteAsync(
        """
        INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds,
                           backoff_seconds, enqueued_at, updated_at, cancel_requested)
        VALUES ($1, 'demo.echo', $2, 'pending', '{}', 0, 1, 0, 30, 1, now() - $3::interval, now() - $3::interval, false)
        """, id, queue, age);

    [Fact]
    public async Task A_row_the_broker_refuses_fails_alone_and_the_rest_of_the_round_goes_out()
    {
        // RabbitMQ refuses to declare a queue named amq.* (403 ACCESS_REFUSED, closing the channel). Before, that
        // failed every round it was in, and it was in every round: no delayed task or retry went out again.
        var (poisoned, good) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        await InsertPendingAsync(poisoned, "amq.x", "1 minute");
        await InsertPendingAsync(good, "default", "1 minute"); // in the same round, the first one
        await using var scheduler = await StartSchedulerAsync(new()
        {
            ["Relay:PendingGraceSeconds"] = "1",
            ["Relay:MaxPublishAttempts"] = "3",
            ["Relay:PublishBackoffSeconds"] = "0.5",
        });
        var delayed = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "later" }, delaySeconds = 1 });
        var retried = await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { failTimes = 1 }, backoffSeconds = 0.2 });

        Assert.Equal(1, (await stack.Http.WaitForStateAsync(good, "succeeded")).Attempts);
        Assert.Equal(1, (await stack.Http.WaitForStateAsync(delayed.Id, "succeeded")).Attempts);
        Assert.Equal(2, (await stack.Http.WaitForStateAsync(retried.Id, "succeeded")).Attempts);
        var failed = await stack.Http.WaitForStateAsync(poisoned, "failed");
        Assert.Contains("ACCESS_REFUSED", failed.Error, StringComparison.Ordinal);
        Assert.Contains("amq.x", failed.Error, StringComparison.Ordinal);
        Assert.Equal(0, failed.Attempts); // it never ran
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1 AND publish_attempts = 3", poisoned));

        // Operators hear of it: a warning per refusal, and a counter once it is given up.
        var warnings = stack.Logs.Events.Where(e => e.Level == LogLevel.Warning && e.Message.Contains(poisoned.ToString(), StringComparison.Ordinal)).ToList();
        Assert.Equal(3, warnings.Count);
        Assert.Contains("it is failed", warnings[^1].Message, StringComparison.Ordinal);
        var metrics = await ScrapeAsync(scheduler.Host);
        Assert.Matches(PublishFailedAmqX(), metrics);
    }

    [GeneratedRegex("""tasks_publish_failed_total\{[^}]*task_queue="amq\.x"[^}]*\} 1\b""")]
    private static partial Regex PublishFailedAmqX();

    private static async Task<string> ScrapeAsync(WebApplication host)
    {
        var address = host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        return await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
    }

    [Fact]
    public async Task A_scheduler_whose_clock_runs_a_minute_ahead_neither_takes_a_live_task_over_nor_publishes_early()
    {
        var ct = TestContext.Current.CancellationToken;
        // A task the stack's worker runs for 3 s, renewing its 3 s lease every 100 ms.
        var running = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 3 } });
        await stack.Http.WaitForStateAsync(running.Id, "running");

        // A fresh pending row (its publisher may be about to publish it) and one 40 s old, in a queue nobody reads.
        var queue = "skew-" + Guid.NewGuid().ToString("N")[..8];
        var (fresh, orphan) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        await InsertPendingAsync(fresh, queue, "0 s");
        await InsertPendingAsync(orphan, queue, "40 s");
        await using var scheduler = await StartSchedulerAsync(new() { ["Relay:PendingGraceSeconds"] = "30" }, new SkewedClock(TimeSpan.FromSeconds(60)));

        // By its own clock the lease ran out a minute ago and the fresh row is 60 s old: by the database's, neither.
        var done = await stack.Http.WaitForStateAsync(running.Id, "succeeded");
        Assert.Equal(1, done.Attempts);
        await stack.Http.WaitForStateAsync(orphan, "queued"); // the relay is at work
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        Assert.Equal("pending", (await stack.Http.GetTaskAsync(fresh)).State);
    }

    private sealed class SkewedClock(TimeSpan ahead) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + ahead;
    }

    [Fact]
    public async Task A_queued_task_whose_message_was_purged_is_published_again_and_runs_once()
    {
        var queue = "purged-" + Guid.NewGuid().ToString("N")[..8];
        await using var scheduler = await StartSchedulerAsync(new() { ["Relay:PendingGraceSeconds"] = "1", ["Relay:QueuedGraceSeconds"] = "2" });
        // No worker reads the queue yet: the task waits in it, and is recorded queued.
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "again" }, queue });
        await stack.Http.WaitForStateAsync(task.Id, "queued");

        using (var management = stack.Servers.ManagementClient())
        {
            using var purge = await management.DeleteAsync(new Uri($"api/queues/{stack.Name}/{queue}/contents", UriKind.Relative), TestContext.Current.CancellationToken);
            purge.EnsureSuccessStatusCode();
        }
        await using var worker = new Stopping(await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue }));

        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");
        Assert.Equal(1, done.Attempts);
    }
}
