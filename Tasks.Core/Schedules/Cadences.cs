using System.Security.Cryptography;
using System.Text;
using Quartz;
using Quartz.Extensibility;

namespace Tasks.Core.Schedules;

/// <summary>
/// A cadence is the times a schedule fires at, with its misfire policy: every cron schedule with the same
/// expression, time zone and policy shares one, so one Quartz trigger fires them all (an interval schedule keeps
/// one of its own: its times start when it was saved). Quartz's work then grows with the fire times, not with the
/// schedules (docs/design.md, "The beat", one trigger per cadence). A cadence's job and trigger are both named by a
/// hash of its description, in group <see cref="Group"/>.
/// </summary>
public static class Cadences
{
    public const string Group = "cadences";

    /// <summary>The cadence of a checked definition: the name of its Quartz job and trigger.</summary>
    public static string Of(ScheduleDefinition schedule) =>
        "c" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Describe(schedule))))[..32];

    public static string Describe(ScheduleDefinition schedule) => schedule.Cron is { } cron
        ? $"cron '{cron}' in {schedule.TimeZone ?? "UTC"}, misfire {schedule.Misfire ?? ScheduleDefinition.FireOnce}"
        : $"every {schedule.IntervalSeconds} s for schedule '{schedule.Name}', misfire {schedule.Misfire ?? ScheduleDefinition.FireOnce}";

    public static JobKey JobKey(string cadence) => new(cadence, Group);
    public static TriggerKey TriggerKey(string cadence) => new(cadence, Group);

    /// <summary>
    /// Stores the cadence's job and trigger unless they are there. The caller holds the cadence's lock
    /// (<see cref="ScheduleStore"/>), so no one removes it meanwhile. A cron that will never fire again gets none.
    /// </summary>
    public static async Task EnsureAsync(IScheduler scheduler, ScheduleDefinition schedule, TimeProvider clock, CancellationToken ct)
    {
        var cadence = Of(schedule);
        if (await scheduler.Exists(TriggerKey(cadence), ct)) return;
        var job = JobBuilder.Create<FireCadenceJob>()
            .WithIdentity(JobKey(cadence))
            .WithDescription(Describe(schedule))
            .StoreDurably()
            .RequestRecovery() // a scheduler that dies mid-fire: another runs the fire again, same fire time, same task ids
            .Build();
        var trigger = BuildTrigger(schedule, clock);
        if (((IOperableTrigger)trigger).ComputeFirstFireTimeUtc(null) is null) return;
        // Replace: a durable job may outlive a trigger that had no time left; under the lock no trigger is replaced.
        await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true }, ct);
    }

    /// <summary>
    /// The cadence's trigger for a checked definition. Its misfire instruction is the policy: <c>fireOnce</c> fires
    /// once at once and goes on, <c>skip</c> waits for the next time; neither fires every missed time (docs/schedules.md).
    /// </summary>
    public static ITrigger BuildTrigger(ScheduleDefinition schedule, TimeProvider clock)
    {
        var cadence = Of(schedule);
        var skip = schedule.Misfire == ScheduleDefinition.Skip;
        var builder = TriggerBuilder.Create(clock).WithIdentity(TriggerKey(cadence)).ForJob(JobKey(cadence)).StartNow();
        return schedule.Cron is { } cron
            ? builder.WithSchedule(CronScheduleBuilder.Create(cron)
                .InTimeZone(TimeZoneInfo.FindSystemTimeZoneById(schedule.TimeZone ?? "UTC"))
                .WithMisfireInstruction(skip ? CronTriggerMisfireInstruction.DoNothing : CronTriggerMisfireInstruction.FireAndProceed)).Build()
            : builder.WithSchedule(SimpleScheduleBuilder.Create()
                .WithInterval(TimeSpan.FromSeconds(schedule.IntervalSeconds!.Value)).RepeatForever()
                .WithMisfireInstruction(skip ? SimpleTriggerMisfireInstruction.NextWithRemainingCount : SimpleTriggerMisfireInstruction.NowWithExistingCount)).Build();
    }

    /// <summary>A checked definition's first <paramref name="count"/> fire times from now, as a new trigger of its cadence would have them.</summary>
    public static IReadOnlyList<DateTimeOffset> Preview(ScheduleDefinition schedule, TimeProvider clock, int count)
    {
        var trigger = (IOperableTrigger)BuildTrigger(schedule, clock);
        return Upcoming(trigger, trigger.ComputeFirstFireTimeUtc(null), count); // what ScheduleJob does on saving
    }

    public static List<DateTimeOffset> Upcoming(ITrigger trigger, DateTimeOffset? next, int count)
    {
        var upcoming = new List<DateTimeOffset>(count);
        for (var t = next; t is { } time && upcoming.Count < count; t = trigger.GetFireTimeAfter(time)) upcoming.Add(time);
        return upcoming;
    }
}
