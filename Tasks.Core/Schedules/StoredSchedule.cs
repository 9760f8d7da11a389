namespace Tasks.Core.Schedules;

/// <summary>A schedule as stored: its row, and its next fire times from its cadence's trigger (none while paused).</summary>
public sealed record StoredSchedule(ScheduleDefinition Definition, string Source, bool Paused, DateTimeOffset? NextFireTime, IReadOnlyList<DateTimeOffset> NextFireTimes);
