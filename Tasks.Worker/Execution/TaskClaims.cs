using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;
using Tasks.Worker.Monitoring;

namespace Tasks.Worker.Execution;

/// <summary>
/// Claims a task row for an attempt: a conditional UPDATE that takes the lease, so a duplicate, stale, canceled or
/// expired message is dropped here, and a task already finished elsewhere is counted as what it became.
/// </summary>
public sealed partial class TaskClaims(
    TaskStateMachine lifecycle, IOptions<WorkerOptions> options, TimeProvider clock, TasksTelemetry telemetry, WorkerCounters counters,
    ILogger<TaskClaims> logger)
{
    private readonly string _worker = options.Value.ResolvedName;

    /// <summary>The task, its lease now held by <paramref name="attempt"/>; null when the message is to be dropped.</summary>
    public async Task<ClaimedTask?> ClaimAsync(Guid taskId, Guid messageId, RunningTask attempt, CancellationToken shutdown)
    {
        var claimStarted = clock.GetTimestamp();
        var (task, skipped) = await lifecycle.ClaimAsync(taskId, _worker, messageId, shutdown);
        if (task is null)
        {
            if (skipped is not null) CountSkip(skipped);
            LogDropped(logger, taskId);
            return null;
        }
        attempt.Claimed(claimStarted); // the claim took the lease: from here the attempt runs only while it holds
        telemetry.Started(task.Name, task.Queue, task.StartedAt - task.DueAt);
        counters.Started(task.Name, task.StartedAt - task.DueAt);
        return task;
    }

    private void CountSkip(SkippedTask skipped)
    {
        switch (skipped.State)
        {
            case TaskState.Expired: telemetry.Expired(skipped.Name, skipped.Queue); break;
            case TaskState.Canceled: telemetry.Canceled(skipped.Name, skipped.Queue); break;
            case TaskState.Failed: telemetry.Failed(skipped.Name, skipped.Queue); break;
        }
    }

    [LoggerMessage(LogLevel.Information, "Task {TaskId}: not runnable (finished, taken, canceled or expired); message dropped")]
    private static partial void LogDropped(ILogger logger, Guid taskId);
}
