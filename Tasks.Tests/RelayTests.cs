using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tasks.Core.Enqueueing;
using Tasks.Core.Lifecycle;
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

    [Fact]
    public async Task A_full_queue_that_nacks_costs_its_tasks_no_try()
    {
        var ct = TestContext.Current.CancellationToken;
        // A queue full at once, whose messages the broker nacks (overflow: reject-publish): back-pressure, not a bad row.
        var queue = "full-" + Guid.NewGuid().ToString("N")[..8];
        using (var management = stack.Servers.ManagementClient())
        {
            using var put = await management.PutAsJsonAsync(new Uri($"api/policies/{stack.Name}/{queue}", UriKind.Relative), new Dictionary<string, object>
            {
                ["pattern"] = $"^{queue}$",
                ["apply-to"] = "queues",
                ["definition"] = new Dictionary<string, object> { ["max-length"] = 0, ["overflow"] = "reject-publish" },
            }, ct);
            put.EnsureSuccessStatusCode();
        }
        var (full, good) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        await InsertPendingAsync(full, queue, "1 minute");
        await InsertPendingAsync(good, "default", "1 minute");
        await using var scheduler = await StartSchedulerAsync(new()
        {
            ["Relay:PendingGraceSeconds"] = "1",
            ["Relay:MaxPublishAttempts"] = "2",
            ["Relay:PublishBackoffSeconds"] = "0.3",
        });

        Assert.Equal(1, (await stack.Http.WaitForStateAsync(good, "succeeded")).Attempts);
        // More nacked rounds than MaxPublishAttempts: before, the task was failed after the second.
        for (var deadline = DateTime.UtcNow.AddSeconds(10); Nacks() < 3 && DateTime.UtcNow < deadline;) await Task.Delay(100, ct);
        Assert.True(Nacks() >= 3, $"{Nacks()} nacked rounds");
        Assert.Equal("pending", (await stack.Http.GetTaskAsync(full)).State);
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1 AND publish_attempts IS NULL", full));
        await stack.ExecuteAsync("DELETE FROM tasks WHERE id = $1", full); // not tried again by the other tests' relays

        int Nacks() => stack.Logs.Events.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("nack", StringComparison.Ordinal)
            && e.Message.Contains(queue, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_queue_declaration_fails_no_confirm_in_flight()
    {
        var ct = TestContext.Current.CancellationToken;
        var queue = "inflight-" + Guid.NewGuid().ToString("N")[..8];
        await using var scope = stack.Web.Services.CreateAsyncScope();
        var publisher = scope.ServiceProvider.GetRequiredService<TaskPublisher>();
        // One task given 10000 times: 10000 messages (nobody reads the queue), whose confirms take a while.
        var many = Enumerable.Repeat(new TaskToPublish(Guid.CreateVersion7(), "demo.echo", queue), 10_000).ToArray();
        var first = publisher.PublishAsync(many, ct);
        // Meanwhile queues the broker refuses (403 for amq.*), each a batch of its own: before, each refusal closed
        // the publishing channel and failed the confirms the first call still waited for.
        var refusals = 0;
        do refusals += (await publisher.PublishEachAsync([new TaskToPublish(Guid.CreateVersion7(), "demo.echo", "amq.y")], ct)).Count;
        while (!first.IsCompleted);
        await first;
        Assert.True(refusals > 0);

        using var management = stack.Servers.ManagementClient();
        using var delete = await management.DeleteAsync(new Uri($"api/queues/{stack.Name}/{queue}", UriKind.Relative), ct);
        delete.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task A_task_inserted_late_in_a_long_transaction_is_stamped_with_the_insert_time()
    {
        // The EF Core insert takes updated_at from the column's default: the transaction's start (now()) made a row
        // inserted late in a handler's long transaction look orphaned at once, so the relay published it twice.
        var id = Guid.CreateVersion7();
        await stack.ExecuteAsync(
            """
            WITH s AS (SELECT pg_sleep(0.5))
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds,
                               backoff_seconds, enqueued_at, cancel_requested)
            SELECT $1, 'demo.echo', 'default', 'succeeded', '{}', 0, 1, 0, 30, 1, now(), false FROM s
            """, id);
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1 AND updated_at >= enqueued_at + interval '0.4 s'", id));
    }
}
