using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tasks.Core.Lifecycle;

namespace Tasks.Worker.Execution;

/// <summary>
/// Renews the lease on the tasks this worker runs (so nobody else takes them over) and, in the same statement,
/// picks up cancel requests for them and fires their tokens.
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
            var ids = running.Ids;
            if (ids.Count == 0) continue;
            try
            {
                foreach (var id in await lifecycle.HeartbeatAsync(ids, options.Value.ResolvedName, stoppingToken))
                    if (running.RequestCancel(id)) LogCancel(logger, id);
            }
            catch (Exception e) when (e is not OperationCanceledException)
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

    [LoggerMessage(LogLevel.Warning, "Looking for cancel requests failed; will try again")]
    private static partial void LogPollFailed(ILogger logger, Exception e);
}
