using Microsoft.Extensions.Options;
using Tasks.Core.Enqueueing;
using Tasks.Core.Hosting;
using Tasks.Core.Lifecycle;

namespace Tasks.Scheduler.Relay;

/// <summary>
/// Releases delayed and backed-off tasks when they are due and publishes tasks whose publisher died between
/// commit and publish. Safe with several schedulers running: each row is taken under SKIP LOCKED (see
/// <see cref="TaskStateMachine.ReleaseAsync"/>). There is no delayed-message plugin on our RabbitMQ, so time
/// waits in PostgreSQL, not in the broker or in a worker's memory.
/// </summary>
public sealed partial class TaskRelay(
    IServiceScopeFactory scopes, TaskStateMachine lifecycle, IOptions<RelayOptions> options, IOptions<TasksOptions> tasks, TimeProvider clock,
    ILogger<TaskRelay> logger) : BackgroundService
{
    private static readonly TimeSpan FoldInterval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        var grace = TimeSpan.FromSeconds(o.PendingGraceSeconds);
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
                released = await lifecycle.ReleaseAsync(grace, o.BatchSize, publisher.PublishAsync, timeout.Token);
                if (released > 0) LogReleased(logger, released);
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

    [LoggerMessage(LogLevel.Debug, "Released {Count} due or orphaned task(s) to the broker")]
    private static partial void LogReleased(ILogger logger, int count);

    [LoggerMessage(LogLevel.Warning, "Releasing due tasks failed ({Failures} in a row); will try again")]
    private static partial void LogFailed(ILogger logger, Exception e, int failures);
}
