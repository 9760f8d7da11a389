namespace Tasks.Core.Schedules;

/// <summary>A schedule as its Quartz job and trigger hold it.</summary>
public sealed record StoredSchedule(ScheduleDefinition Definition, string Source, bool Paused, DateTimeOffset? NextFireTime, IReadOnlyList<DateTimeOffset> NextFireTimes);
