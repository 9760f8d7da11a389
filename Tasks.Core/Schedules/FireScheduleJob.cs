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
/// One fire of a schedule: enqueues its task through <see cref="TaskEnqueuer"/> (the row is the outbox, so a fire
/// whose transaction committed is delivered even if the broker is down) with the id derived from the schedule's
/// name and this fire's scheduled time. Quartz builds it in a DI scope of its own per fire.
/// </summary>
public sealed partial class FireScheduleJob(
    TaskEnqueuer enqueuer, TasksDbContext db, ScheduleTelemetry telemetry, TimeProvider clock, ILogger<FireScheduleJob> logger) : IJob
{
    private const int Tries = 5;          // for an error other than the database being away
    private const int MaxDelaySeconds = 5;

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        context.JobDetail.JobDataMap.TryGetString("definition", out var json);
        var ct = cancellationToken;
        var schedule = ScheduleDefinition.FromJson(json!);
        var fireTime = ScheduledFireTime(context);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var result = await enqueuer.EnqueueAsync([ScheduleFires.Request(schedule, fireTime)], "", ct);
                if (!result.IsValid)
                {
                    // The contract changed under a stored schedule: nothing to retry until someone fixes the schedule.
                    LogRefused(logger, schedule.Name!, fireTime, string.Join(" ", result.Errors.Concat(result.Conflicts).Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
                    return;
                }
                var lag = clock.GetUtcNow() - fireTime;
                telemetry.Fired(schedule.Name!, lag);
                LogFired(logger, schedule.Name!, fireTime, result.Tasks[0].Id, lag.TotalMilliseconds);
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested && (ConnectionLoss.Is(e) || (attempt < Tries && e is NpgsqlException or DbUpdateException)))
            {
                // The same fire again, same id, so a commit we didn't hear about is found. The database away is
                // waited out however long it takes: Quartz counts a fire as done once the job returns, so giving
                // up would lose it (docs/design.md, "The beat", a fire outlives an outage).
                LogRetry(logger, e, schedule.Name!, fireTime, attempt);
                db.ChangeTracker.Clear();
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(attempt, MaxDelaySeconds)), clock, ct);
            }
        }
    }

    // A fire recovered from a scheduler that died mid-fire runs under a recovery trigger: the time it stands for is the original's.
    private static DateTimeOffset ScheduledFireTime(IJobExecutionContext context)
    {
        if (context.Recovering && context.MergedJobDataMap.TryGetString(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime, out var original))
        {
            if (long.TryParse(original, System.Globalization.CultureInfo.InvariantCulture, out var ms)) return DateTimeOffset.FromUnixTimeMilliseconds(ms);
            if (DateTimeOffset.TryParse(original, System.Globalization.CultureInfo.InvariantCulture, out var time)) return time.ToUniversalTime();
        }
        return context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
    }

    [LoggerMessage(LogLevel.Debug, "Schedule {Schedule} fired for {FireTime:O}: task {TaskId}, {LagMilliseconds:F0} ms after its time")]
    private static partial void LogFired(ILogger logger, string schedule, DateTimeOffset fireTime, Guid taskId, double lagMilliseconds);

    [LoggerMessage(LogLevel.Error, "Schedule {Schedule} fired for {FireTime:O}, but its task was refused: {Errors}")]
    private static partial void LogRefused(ILogger logger, string schedule, DateTimeOffset fireTime, string errors);

    [LoggerMessage(LogLevel.Warning, "Schedule {Schedule}: enqueueing the fire of {FireTime:O} failed (try {Attempt}); trying again")]
    private static partial void LogRetry(ILogger logger, Exception e, string schedule, DateTimeOffset fireTime, int attempt);
}
