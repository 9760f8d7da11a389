using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tasks.Core.Lifecycle;

namespace Tasks.Worker.Execution;

/// <summary>
/// Renews the lease on the tasks this worker runs (so nobody else takes them over) and, in the same statement,
/// picks up cancel requests for them and fires their tokens. A task the renewal says is no longer this worker's is
/// stopped at once; one whose renewals keep failing is stopped by its own deadline (<see cref="RunningTasks.LeaseDeadline"/>),
/// which doesn't wait for this loop: a renewal may hang as long as the database is unreachable.
/// </summary>
public sealed partial class CancelWatcher(
    RunningTasks running, TaskStateMachine lifecycle, IOptions<WorkerOptions> options, TimeProvider clock,
    ILogger<CancelWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.CancelPollMilliseconds), clock);
        while (await WaitAsync(timer, stoppingToken))
        {
            var ids = running.Leased;
            if (ids.Count == 0) continue;
            var started = clock.GetTimestamp();
            try
            {
                // A renewal that comes back after the deadline renews nothing anyway.
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                bounded.CancelAfter(running.LeaseDeadline);
                var renewal = await lifecycle.HeartbeatAsync(ids, options.Value.ResolvedName, bounded.Token);
                running.Renewed(renewal.Renewed, started);
                foreach (var id in renewal.CancelRequested)
                    if (running.RequestCancel(id)) LogCancel(logger, id);
                foreach (var id in renewal.Lost)
                    if (running.LoseLease(id)) LogLost(logger, id);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPollFailed(logger, e);
            }
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false; // stopping
        }
    }

    [LoggerMessage(LogLevel.Information, "Task {TaskId}: cancel requested; firing its token")]
    private static partial void LogCancel(ILogger logger, Guid taskId);

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: no longer this worker's (its lease was taken over); stopping it, nothing will be recorded")]
    private static partial void LogLost(ILogger logger, Guid taskId);

    [LoggerMessage(LogLevel.Warning, "Renewing the leases of running tasks failed; will try again (each task stops if its lease can't be renewed in time)")]
    private static partial void LogPollFailed(ILogger logger, Exception e);
}
