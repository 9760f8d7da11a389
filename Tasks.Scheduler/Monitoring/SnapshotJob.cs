using Quartz;
using Tasks.Core.Monitoring;

namespace Tasks.Scheduler.Monitoring;

/// <summary>
/// The camera's clustered Quartz job: one fire per <c>Monitor:SnapshotSeconds</c> on the beat's cluster, never two at
/// once anywhere in it, a late fire skipped rather than caught up; the slot it stands for is its scheduled fire time,
/// so a second fire of the same slot finds it stored (docs/design.md, "The camera").
/// </summary>
[DisallowConcurrentExecution]
public sealed class SnapshotJob(Camera camera, MonitorPruner pruner) : IJob
{
    public const string Group = "monitor";
    public static readonly JobKey Key = new("snapshot", Group);
    public static readonly TriggerKey TriggerKey = new("snapshot", Group);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var interval = (long)((ISimpleTrigger)context.Trigger).RepeatInterval.TotalMilliseconds;
        if (await camera.TakeAsync(Slot(context.ScheduledFireTimeUtc ?? context.FireTimeUtc, interval), cancellationToken))
            await pruner.PruneAsync(cancellationToken);
    }

    /// <summary>The slot boundary nearest to <paramref name="fireTime"/>: triggers start on a boundary, so every scheduler's fires map alike.</summary>
    public static DateTimeOffset Slot(DateTimeOffset fireTime, long intervalMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds((fireTime.ToUnixTimeMilliseconds() + intervalMs / 2) / intervalMs * intervalMs);
}
