using Tasks.Core.Enqueueing;

namespace Tasks.Core.Schedules;

/// <summary>What a schedule's fire (or a manual trigger) asks the enqueuer for: the one enqueue path, with a derived id.</summary>
public static class ScheduleFires
{
    public static EnqueueRequest Request(ScheduleDefinition schedule, DateTimeOffset fireTime) =>
        new(schedule.Task!, schedule.Args)
        {
            Id = FireIds.For(schedule.Name!, fireTime),
            Queue = schedule.Queue,
            ScheduleName = schedule.Name,
            ScheduledFireTime = fireTime,
        };
}
