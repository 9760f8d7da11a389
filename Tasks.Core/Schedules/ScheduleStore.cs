using Quartz;
using Quartz.Extensibility;

namespace Tasks.Core.Schedules;

/// <summary>
/// Schedules kept in Quartz's job store: one durable job per schedule (its definition and source in the job's data)
/// with one trigger, both named as the schedule in group <see cref="Group"/>. The Web host works on the store
/// through a scheduler it never starts; the scheduler hosts fire the triggers (docs/design.md, "The beat").
/// </summary>
public sealed class ScheduleStore(ISchedulerFactory schedulers, TimeProvider clock)
{
    public const string Group = "schedules";
    public const string Config = "config";
    public const string Api = "api";
    private const string DefinitionKey = "definition";
    private const string SourceKey = "source";

    public static JobKey JobKey(string name) => new(name, Group);
    public static TriggerKey TriggerKey(string name) => new(name, Group);

    /// <summary>Every schedule, by name: four reads of the store whatever their number (jobs, their data, triggers, states).</summary>
    public async Task<IReadOnlyList<StoredSchedule>> ListAsync(CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var keys = await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(Group), ct);
        if (keys.Count == 0) return [];
        var jobs = await scheduler.GetJobDetails(keys, ct);
        var triggers = (await scheduler.GetTriggers([.. keys.Select(k => TriggerKey(k.Name))], ct)).ToDictionary(t => t.Key);
        var states = (await scheduler.QueryTriggers(new TriggerQuery { Group = GroupMatcher<TriggerKey>.GroupEquals(Group), Take = PagedQuery.All }, ct)).Items.ToDictionary(h => h.Key, h => h.State);
        return [.. jobs.OrderBy(j => j.Key.Name, StringComparer.Ordinal)
            .Select(j => Read(j, triggers.GetValueOrDefault(TriggerKey(j.Key.Name)), states.GetValueOrDefault(TriggerKey(j.Key.Name), TriggerState.None)))
            .OfType<StoredSchedule>()];
    }

    public async Task<StoredSchedule?> GetAsync(string name, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var job = await scheduler.GetJobDetail(JobKey(name), ct);
        if (job is null) return null;
        var trigger = await scheduler.GetTrigger(TriggerKey(name), ct);
        var state = trigger is null ? TriggerState.None : await scheduler.GetTriggerState(trigger.Key, ct);
        return Read(job, trigger, state);
    }

    private static StoredSchedule? Read(IJobDetail job, ITrigger? trigger, TriggerState state)
    {
        if (!job.JobDataMap.TryGetString(DefinitionKey, out var json) || json is null) return null;
        job.JobDataMap.TryGetString(SourceKey, out var source);
        var paused = state is TriggerState.Paused;
        var next = trigger?.NextFireTimeUtc;
        var upcoming = paused || trigger is null ? [] : Upcoming(trigger, next, 5);
        return new StoredSchedule(ScheduleDefinition.FromJson(json), source ?? Api, paused, paused ? null : next, upcoming);
    }

    /// <summary>A checked definition's first <paramref name="count"/> fire times from now, as its stored trigger will have them.</summary>
    public static IReadOnlyList<DateTimeOffset> Preview(ScheduleDefinition schedule, TimeProvider clock, int count)
    {
        var trigger = (IOperableTrigger)BuildTrigger(schedule, clock);
        return Upcoming(trigger, trigger.ComputeFirstFireTimeUtc(null), count); // what ScheduleJob does on saving
    }

    private static List<DateTimeOffset> Upcoming(ITrigger trigger, DateTimeOffset? next, int count)
    {
        var upcoming = new List<DateTimeOffset>(count);
        for (var t = next; t is { } time && upcoming.Count < count; t = trigger.GetFireTimeAfter(time)) upcoming.Add(time);
        return upcoming;
    }

    /// <summary>
    /// Stores a checked definition. Not <paramref name="replace"/>: a schedule of that name already stored throws
    /// <see cref="ObjectAlreadyExistsException"/>, and nothing is written. Stored paused when <paramref name="paused"/>.
    /// </summary>
    public async Task SaveAsync(ScheduleDefinition schedule, string source, bool replace, bool paused, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var job = JobBuilder.Create<FireScheduleJob>()
            .WithIdentity(JobKey(schedule.Name!))
            .WithDescription(schedule.Description)
            .StoreDurably()
            .RequestRecovery() // a scheduler that dies mid-fire: another runs the fire again, same fire time, same task id
            .UsingJobData(DefinitionKey, schedule.ToJson())
            .UsingJobData(SourceKey, source)
            .Build();
        await RetryAsync(async () => { await scheduler.ScheduleJob(job, [BuildTrigger(schedule, clock)], new ScheduleJobOptions { Replace = replace, Paused = paused }, ct); return true; }, ct);
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        return await RetryAsync(async () => await scheduler.DeleteJob(JobKey(name), ct), ct);
    }

    public async Task PauseAsync(string name, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        await RetryAsync(async () => { await scheduler.PauseTrigger(TriggerKey(name), ct); return true; }, ct);
    }

    public async Task ResumeAsync(string name, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        await RetryAsync(async () => { await scheduler.ResumeTrigger(TriggerKey(name), ct); return true; }, ct);
    }

    // A write racing a scheduler's firing of the same trigger can lose to it in the database (seen as a rare 500 on
    // DELETE under load); each is one Quartz transaction, so trying it again is safe.
    private static async Task<T> RetryAsync<T>(Func<Task<T>> write, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (JobPersistenceException e) when (e is not ObjectAlreadyExistsException && attempt < 3)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), ct);
            }
        }
    }

    /// <summary>
    /// The trigger of a checked definition. Its misfire instruction is the schedule's policy: <c>fireOnce</c> fires
    /// once at once and goes on, <c>skip</c> waits for the next time; neither fires every missed time (docs/schedules.md).
    /// </summary>
    public static ITrigger BuildTrigger(ScheduleDefinition schedule, TimeProvider clock)
    {
        var skip = schedule.Misfire == ScheduleDefinition.Skip;
        var builder = TriggerBuilder.Create(clock).WithIdentity(TriggerKey(schedule.Name!)).ForJob(JobKey(schedule.Name!)).StartNow();
        return schedule.Cron is { } cron
            ? builder.WithSchedule(CronScheduleBuilder.Create(cron)
                .InTimeZone(TimeZoneInfo.FindSystemTimeZoneById(schedule.TimeZone ?? "UTC"))
                .WithMisfireInstruction(skip ? CronTriggerMisfireInstruction.DoNothing : CronTriggerMisfireInstruction.FireAndProceed)).Build()
            : builder.WithSchedule(SimpleScheduleBuilder.Create()
                .WithInterval(TimeSpan.FromSeconds(schedule.IntervalSeconds!.Value)).RepeatForever()
                .WithMisfireInstruction(skip ? SimpleTriggerMisfireInstruction.NextWithRemainingCount : SimpleTriggerMisfireInstruction.NowWithExistingCount)).Build();
    }
}
