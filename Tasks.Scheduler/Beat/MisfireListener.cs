using Quartz;
using Tasks.Core.Telemetry;

namespace Tasks.Scheduler.Beat;

/// <summary>Counts and logs each misfire Quartz applies to a schedule's trigger (its policy then decides: one run now, or none).</summary>
public sealed partial class MisfireListener(ScheduleTelemetry telemetry, ILogger<MisfireListener> logger) : ITriggerListener
{
    public string Name => nameof(MisfireListener);

    public ValueTask TriggerMisfired(ITrigger trigger, IScheduler scheduler, CancellationToken cancellationToken = default)
    {
        telemetry.Misfired(trigger.Key.Name);
        LogMisfired(logger, trigger.Key.Name, trigger.NextFireTimeUtc);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(LogLevel.Warning, "Schedule {Schedule} misfired: its fire of {FireTime:O} is later than Beat:MisfireThresholdSeconds allows; its misfire policy decides (fireOnce: one run now, skip: none)")]
    private static partial void LogMisfired(ILogger logger, string schedule, DateTimeOffset? fireTime);
}
