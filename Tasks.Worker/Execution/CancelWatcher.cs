using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tasks.Core.Lifecycle;
using Tasks.Worker.Monitoring;

namespace Tasks.Worker.Execution;

/// <summary>
/// Renews the lease on the tasks this worker runs (so nobody else takes them over) and, in the same statement,
/// picks up cancel requests for them and fires their tokens. A task the renewal says is no longer this worker's is
/// stopped at once; one whose renewals keep failing is stopped by its own deadline (<see cref="RunningTasks.LeaseDeadline"/>),
/// which doesn't wait for this loop: a renewal may hang as long as the database is unreachable. Every
/// <c>Worker:HeartbeatSeconds</c> the worker's own row goes with it (<see cref="WorkerHeartbeat"/>), or alone when
/// nothing runs; after the bus has stopped, a last one says it stopped.
/// </summary>
public sealed partial class CancelWatcher(
    RunningTasks running, TaskStateMachine lifecycle, WorkerHeartbeat heartbeat, IOptions<WorkerOptions> options, TimeProvider clock,
    ILogger<CancelWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(options.Value.CancelPollMilliseconds), clock);
        while (await WaitAsync(timer, stoppingToken))
        {
            // Taken before the snapshot: an attempt claimed after it is newer than this heartbeat, whose answers
            // (renewed or lost) are then about an earlier attempt of the same task and leave it alone.
            var started = clock.GetTimestamp();
            var ids = running.Leased;
            var beat = heartbeat.Due(started);
            if (ids.Count == 0 && beat is null) continue;
            try
            {
                // A renewal that comes back after the deadline renews nothing anyway.
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                bounded.CancelAfter(running.LeaseDeadline);
                var renewal = await lifecycle.HeartbeatAsync(ids, options.Value.ResolvedName, beat, bounded.Token);
                running.Renewed(renewal.Renewed, started);
                foreach (var id in renewal.CancelRequested)
                    if (running.RequestCancel(id)) LogCancel(logger, id);
                foreach (var id in renewal.Lost)
                    if (running.LoseLease(id, started)) LogLost(logger, id);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogPollFailed(logger, e);
            }
        }
    }

    /// <summary>Runs after MassTransit's hosted service has stopped (registered before it): the tasks are done or handed back.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await lifecycle.Heartbeat.BeatAsync(heartbeat.Beat(stopped: true), cancellationToken);
        }
        catch (Exception e)
        {
            LogStopNotRecorded(logger, e); // it shows offline after three intervals instead
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

    [LoggerMessage(LogLevel.Warning, "Could not record this worker's clean stop; it will show offline instead")]
    private static partial void LogStopNotRecorded(ILogger logger, Exception e);
}
