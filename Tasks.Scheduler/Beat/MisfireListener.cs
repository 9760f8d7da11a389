using Quartz;
using Tasks.Core.Schedules;
using Tasks.Core.Telemetry;

namespace Tasks.Scheduler.Beat;

/// <summary>
/// Counts and logs, for each schedule of a cadence, each misfire Quartz applies to the cadence's trigger (the
/// schedules' shared policy then decides: one run now, or none).
/// </summary>
public sealed partial class MisfireListener(ScheduleStore store, ScheduleTelemetry telemetry, TimeProvider clock, ILogger<MisfireListener> logger) : ITriggerListener
{
    public string Name => nameof(MisfireListener);

    public async ValueTask TriggerMisfired(ITrigger trigger, IScheduler scheduler, CancellationToken cancellationToken = default)
    {
        foreach (var schedule in await store.DueAsync(trigger.Key.Name, clock.GetUtcNow(), cancellationToken))
        {
            telemetry.Misfired(schedule.Name!);
            LogMisfired(logger, schedule.Name!, trigger.NextFireTimeUtc);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Schedule {Schedule} misfired: its fire of {FireTime:O} is later than Beat:MisfireThresholdSeconds allows; its misfire policy decides (fireOnce: one run now, skip: none)")]
    private static partial void LogMisfired(ILogger logger, string schedule, DateTimeOffset? fireTime);
}
