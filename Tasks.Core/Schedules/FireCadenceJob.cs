using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using Quartz;
using Tasks.Core.Data;
using Tasks.Core.Enqueueing;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Schedules;

/// <summary>
/// One fire of a cadence: enqueues a task for each of its schedules due then, all through one call of
/// <see cref="TaskEnqueuer"/> (the rows are the outbox, so a fire whose transaction committed is delivered even if
/// the broker is down), each with the id derived from its schedule's name and this fire's scheduled time. Quartz
/// builds it in a DI scope of its own per fire.
/// </summary>
public sealed partial class FireCadenceJob(
    TaskEnqueuer enqueuer, ScheduleStore store, TasksDbContext db, ScheduleTelemetry telemetry, TimeProvider clock, ILogger<FireCadenceJob> logger) : IJob
{
    private const int Tries = 5;          // for an error other than the database being away
    private const int MaxDelaySeconds = 5;

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var ct = cancellationToken;
        var cadence = context.JobDetail.Key.Name;
        var fireTime = ScheduledFireTime(context);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await EnqueueAsync(await store.DueAsync(cadence, fireTime, ct), fireTime, ct);
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested && (ConnectionLoss.Is(e) || (attempt < Tries && e is NpgsqlException or DbUpdateException)))
            {
                // The same fire again, same ids, so a commit we didn't hear about is found. The database away is
                // waited out however long it takes: Quartz counts a fire as done once the job returns, so giving
                // up would lose it (docs/design.md, "The beat", a fire outlives an outage).
                LogRetry(logger, e, cadence, fireTime, attempt);
                db.ChangeTracker.Clear();
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, MaxDelaySeconds)), clock, ct);
            }
        }
    }

    private async Task EnqueueAsync(List<ScheduleDefinition> due, DateTimeOffset fireTime, CancellationToken ct)
    {
        if (due.Count == 0) return;
        var result = await enqueuer.EnqueueAsync(due.ConvertAll(s => ScheduleFires.Request(s, fireTime)), "{0}.", ct);
        if (!result.IsValid)
        {
            // A contract changed under a stored schedule: it is refused (nothing to retry until someone fixes it),
            // the others are enqueued.
            var refused = result.Errors.Concat(result.Conflicts).GroupBy(e => int.Parse(e.Key[..e.Key.IndexOf('.', StringComparison.Ordinal)], CultureInfo.InvariantCulture)).ToList();
            foreach (var schedule in refused)
                LogRefused(logger, due[schedule.Key].Name!, fireTime, string.Join(" ", schedule.Select(e => $"{e.Key[(e.Key.IndexOf('.', StringComparison.Ordinal) + 1)..]}: {string.Join(" ", e.Value)}")));
            var bad = refused.Select(g => g.Key).ToHashSet();
            await EnqueueAsync([.. due.Where((_, i) => !bad.Contains(i))], fireTime, ct);
            return;
        }
        var lag = clock.GetUtcNow() - fireTime;
        for (var i = 0; i < due.Count; i++)
        {
            // A fire repeated (recovered after a crash, retried after a commit we didn't hear of) found its task there.
            if (result.Repeated.Contains(result.Tasks[i].Id))
            {
                LogRepeated(logger, due[i].Name!, fireTime, result.Tasks[i].Id);
                continue;
            }
            telemetry.Fired(due[i].Name!, lag);
            LogFired(logger, due[i].Name!, fireTime, result.Tasks[i].Id, lag.TotalMilliseconds);
        }
    }

    // A fire recovered from a scheduler that died mid-fire runs under a recovery trigger: the time it stands for is the original's.
    private static DateTimeOffset ScheduledFireTime(IJobExecutionContext context)
    {
        if (context.Recovering && context.MergedJobDataMap.TryGetString(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime, out var original))
        {
            if (long.TryParse(original, CultureInfo.InvariantCulture, out var ms)) return DateTimeOffset.FromUnixTimeMilliseconds(ms);
            if (DateTimeOffset.TryParse(original, CultureInfo.InvariantCulture, out var time)) return time.ToUniversalTime();
        }
        return context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
    }

    [LoggerMessage(LogLevel.Debug, "Schedule {Schedule} fired for {FireTime:O}: task {TaskId}, {LagMilliseconds:F0} ms after its time")]
    private static partial void LogFired(ILogger logger, string schedule, DateTimeOffset fireTime, Guid taskId, double lagMilliseconds);

    [LoggerMessage(LogLevel.Information, "Schedule {Schedule} fired again for {FireTime:O}: task {TaskId} was enqueued already")]
    private static partial void LogRepeated(ILogger logger, string schedule, DateTimeOffset fireTime, Guid taskId);

    [LoggerMessage(LogLevel.Error, "Schedule {Schedule} fired for {FireTime:O}, but its task was refused: {Errors}")]
    private static partial void LogRefused(ILogger logger, string schedule, DateTimeOffset fireTime, string errors);

    [LoggerMessage(LogLevel.Warning, "Cadence {Cadence}: enqueueing the fire of {FireTime:O} failed (try {Attempt}); trying again")]
    private static partial void LogRetry(ILogger logger, Exception e, string cadence, DateTimeOffset fireTime, int attempt);
}
