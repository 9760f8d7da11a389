using Microsoft.Extensions.Options;
using Quartz;
using Tasks.Core.Monitoring;

namespace Tasks.Scheduler.Monitoring;

/// <summary>
/// Stores the camera's job and trigger in the cluster before the scheduler starts: once, by whichever scheduler comes
/// first, and again only when <c>Monitor:SnapshotSeconds</c> changed. A trigger replaced at every start would move
/// under the scheduler firing it and lose a slot or two (seen in CameraTests); left alone, it keeps its slots.
/// </summary>
public sealed partial class SnapshotTrigger(ISchedulerFactory schedulers, IOptions<MonitorOptions> options, TimeProvider clock, ILogger<SnapshotTrigger> logger)
    : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var interval = TimeSpan.FromSeconds(options.Value.SnapshotSeconds);
        var existing = await scheduler.GetTrigger(SnapshotJob.TriggerKey, cancellationToken);
        if (existing is ISimpleTrigger { RepeatInterval: var stored } && stored == interval) return;

        var job = JobBuilder.Create<SnapshotJob>().WithIdentity(SnapshotJob.Key).StoreDurably().WithDescription("The monitor's snapshot").Build();
        // On the next boundary, so the slots are multiples of the interval; a misfire waits for the next slot.
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds();
        var intervalMs = (long)interval.TotalMilliseconds;
        var trigger = TriggerBuilder.Create(clock).WithIdentity(SnapshotJob.TriggerKey).ForJob(SnapshotJob.Key)
            .StartAt(DateTimeOffset.FromUnixTimeMilliseconds((now / intervalMs + 1) * intervalMs))
            .WithSimpleSchedule(s => s.WithInterval(interval).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount))
            .Build();
        try
        {
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = existing is not null }, cancellationToken);
            LogScheduled(logger, options.Value.SnapshotSeconds);
        }
        catch (ObjectAlreadyExistsException)
        {
            // Another scheduler starting at the same moment stored it first.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Information, "The camera's trigger stored: a snapshot every {Seconds} s")]
    private static partial void LogScheduled(ILogger logger, int seconds);
}
