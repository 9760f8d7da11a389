using Tasks.Core.Schedules;

namespace Tasks.Scheduler.Beat;

/// <summary>
/// Every minute, makes Quartz's cadences match the schedules table (<see cref="ScheduleStore.SyncCadencesAsync"/>):
/// a write that failed between the two stores (a process killed between a cadence's trigger and its first schedule,
/// a commit lost after the last one left) costs at most a minute, not a schedule that never fires.
/// </summary>
public sealed partial class CadenceSync(ScheduleStore store, TimeProvider clock, ILogger<CadenceSync> logger) : BackgroundService
{
    private static readonly TimeSpan Every = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Every, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await store.SyncCadencesAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(LogLevel.Warning, "Matching Quartz's cadences to the schedules failed; trying again in a minute")]
    private static partial void LogFailed(ILogger logger, Exception e);
}
