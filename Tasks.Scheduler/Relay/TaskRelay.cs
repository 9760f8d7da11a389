using Microsoft.Extensions.Options;
using Tasks.Core.Enqueueing;
using Tasks.Core.Hosting;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Scheduler.Relay;

/// <summary>
/// Releases delayed and backed-off tasks when they are due and publishes tasks whose publisher died between
/// commit and publish. Safe with several schedulers running: each row is taken under SKIP LOCKED (see
/// <see cref="TaskStateMachine.ReleaseAsync"/>). There is no delayed-message plugin on our RabbitMQ, so time
/// waits in PostgreSQL, not in the broker or in a worker's memory. A task the broker refuses costs only itself: the
/// rest of the round goes out, and it is tried again after a back-off, then failed (<c>Relay:MaxPublishAttempts</c>).
/// </summary>
public sealed partial class TaskRelay(
    IServiceScopeFactory scopes, TaskStateMachine lifecycle, IOptions<RelayOptions> options, IOptions<TasksOptions> tasks, TimeProvider clock,
    TasksTelemetry telemetry, ILogger<TaskRelay> logger) : BackgroundService
{
    private static readonly TimeSpan FoldInterval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var settings = new ReleaseSettings(TimeSpan.FromSeconds(o.PendingGraceSeconds), o.BatchSize,
            TimeSpan.FromSeconds(o.QueuedGraceSeconds), o.MaxPublishAttempts, TimeSpan.FromSeconds(o.PublishBackoffSeconds));
        var failures = 0;
        var nextFold = clock.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            int released;
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var publisher = scope.ServiceProvider.GetRequiredService<TaskPublisher>();
                // Rows stay locked while their messages go out: a broker that doesn't answer must not hold them.
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(tasks.Value.PublishTimeoutSeconds * 2));
                var result = await lifecycle.ReleaseAsync(settings, publisher.PublishEachAsync, timeout.Token);
                released = result.Published + result.Refused.Count + result.Deferred.Count;
                if (result.Published > 0) LogReleased(logger, result.Published);
                foreach (var refused in result.Refused) Report(refused);
                if (result.Deferred.Count > 0) LogDeferred(logger, result.Deferred.Count, settings.PublishBackoff, result.Deferred[0].Reason);
                if (clock.GetUtcNow() >= nextFold)
                {
                    await lifecycle.FoldStateCountsAsync(timeout.Token);
                    nextFold = clock.GetUtcNow() + FoldInterval;
                }
                failures = 0;
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                failures++;
                LogFailed(logger, e, failures);
                released = 0;
            }
            if (released < o.BatchSize)
            {
                var wait = TimeSpan.FromMilliseconds(o.PollMilliseconds * Math.Pow(2, Math.Min(failures, 5)));
                await Task.Delay(wait, clock, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private void Report(RefusedPublish refused)
    {
        var task = refused.Task;
        if (!refused.GaveUp)
        {
            LogRefused(logger, task.Id, task.Name, task.Queue, refused.Attempts, options.Value.MaxPublishAttempts, refused.RetryIn ?? TimeSpan.Zero, refused.Reason);
            return;
        }
        LogGaveUp(logger, task.Id, task.Name, task.Queue, refused.Attempts, refused.Reason);
        telemetry.PublishFailed(task.Name, task.Queue);
        telemetry.Failed(task.Name, task.Queue);
    }

    [LoggerMessage(LogLevel.Warning, "The broker refused task {TaskId} ({TaskName}, queue {Queue}), try {Attempt} of {MaxAttempts}; trying again in {RetryIn}: {Reason}")]
    private static partial void LogRefused(ILogger logger, Guid taskId, string taskName, string queue, int attempt, int maxAttempts, TimeSpan retryIn, string reason);

    [LoggerMessage(LogLevel.Warning, "The broker refused task {TaskId} ({TaskName}, queue {Queue}) {Attempts} times in a row; it is failed: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, Guid taskId, string taskName, string queue, int attempts, string reason);

    [LoggerMessage(LogLevel.Warning, "The broker did not take {Count} task(s) (nack); trying them again in {RetryIn}, uncharged: {Reason}")]
    private static partial void LogDeferred(ILogger logger, int count, TimeSpan retryIn, string reason);

    [LoggerMessage(LogLevel.Debug, "Released {Count} due or orphaned task(s) to the broker")]
    private static partial void LogReleased(ILogger logger, int count);

    [LoggerMessage(LogLevel.Warning, "Releasing due tasks failed ({Failures} in a row); will try again")]
    private static partial void LogFailed(ILogger logger, Exception e, int failures);
}
