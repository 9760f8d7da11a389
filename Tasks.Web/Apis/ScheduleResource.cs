using System.Text.Json.Nodes;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;
using Tasks.Core.Registry;
using Tasks.Core.Schedules;

namespace Tasks.Web.Apis;

/// <summary>A schedule as the API shows it: its definition, where it came from, its state and its latest fire.</summary>
public sealed record ScheduleResource(
    string Name, string Task, JsonNode? Args, string? Queue, string? Cron, int? IntervalSeconds, string? TimeZone,
    bool Enabled, string Misfire, string? Description, string Source, bool Paused, IReadOnlyList<DateTimeOffset> NextFireTimes,
    DateTimeOffset? LastFireTime, Guid? LastTaskId, string? LastTaskState)
{
    public static ScheduleResource From(StoredSchedule s, ScheduleFire? last, TaskRegistry registry)
    {
        var d = s.Definition;
        return new(d.Name!, d.Task!, d.Args is { } args ? registry.Redacted(d.Task!, args.GetRawText()) : null, d.Queue, d.Cron,
            d.IntervalSeconds, d.TimeZone, d.Enabled != false, d.Misfire ?? ScheduleDefinition.FireOnce, d.Description, s.Source, s.Paused,
            s.NextFireTimes, last?.FireTime, last?.TaskId, last is null ? null : TaskStateMachine.NameOf(last.State));
    }
}

public sealed record ScheduleList(IReadOnlyList<ScheduleResource> Items);

public sealed record ScheduleFireResource(DateTimeOffset FireTime, Guid TaskId, string TaskState)
{
    public static ScheduleFireResource From(ScheduleFire f) => new(f.FireTime, f.TaskId, TaskStateMachine.NameOf(f.State));
}

public sealed record ScheduleFireList(IReadOnlyList<ScheduleFireResource> Items);
