using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using Tasks.Core.Enqueueing;
using Tasks.Core.Hosting;
using Tasks.Core.Schedules;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// A schedule's fire carries an id derived from the schedule and its time, so a fire repeated (a scheduler that died
/// mid-fire, recovered by another; a retry after a commit nobody heard of) finds its task there. Through the web
/// host's own <see cref="TaskEnqueuer"/>, on the stack's database and broker, with no worker to take the messages.
/// </summary>
public sealed class RepeatedFireTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
{
    [Fact]
    public async Task A_repeated_fire_is_counted_once_and_published_again_only_while_its_task_is_pending()
    {
        var queue = "fires-" + Guid.NewGuid().ToString("N")[..8];
        var schedule = new ScheduleDefinition { Name = queue, Task = "demo.echo", Queue = queue, Cron = "0 0 5 * * ?" };
        var fireTime = new DateTimeOffset(2026, 12, 7, 5, 0, 0, TimeSpan.Zero);
        using var enqueued = new QueueCounter("tasks.enqueued", queue);

        var first = await FireAsync(schedule, fireTime);
        var id = Assert.Single(first.Tasks).Id;
        Assert.Equal(FireIds.For(queue, fireTime), id);
        Assert.Empty(first.Repeated);

        // Still pending: nobody can tell whether its first publish happened, so it goes again (a worker drops the
        // second message at its claim); but it was enqueued once.
        await stack.ExecuteAsync("UPDATE tasks SET state = 'pending' WHERE id = $1", id);
        Assert.Equal([id], (await FireAsync(schedule, fireTime)).Repeated);
        // Run already: nothing to publish.
        await stack.ExecuteAsync("UPDATE tasks SET state = 'succeeded', finished_at = now() WHERE id = $1", id);
        Assert.Equal([id], (await FireAsync(schedule, fireTime)).Repeated);

        Assert.Equal(1, enqueued.Total); // tasks_enqueued_total{task_queue=...}
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1", id));
        Assert.Equal(2u, await MessagesAsync(queue));
    }

    private async Task<EnqueueResult> FireAsync(ScheduleDefinition schedule, DateTimeOffset fireTime)
    {
        await using var scope = stack.Web.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<TaskEnqueuer>()
            .EnqueueAsync([ScheduleFires.Request(schedule, fireTime)], "{0}.", TestContext.Current.CancellationToken);
        Assert.True(result.IsValid);
        return result;
    }

    private async Task<uint> MessagesAsync(string queue)
    {
        var ct = TestContext.Current.CancellationToken;
        var factory = new ConnectionFactory { Uri = stack.Web.Services.GetRequiredService<RabbitSettings>().AmqpUri };
        await using var connection = await factory.CreateConnectionAsync(ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        var count = (await channel.QueueDeclarePassiveAsync(queue, ct)).MessageCount;
        await channel.QueueDeleteAsync(queue, cancellationToken: ct);
        return count;
    }
}
