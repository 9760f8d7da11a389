using Microsoft.Extensions.Logging;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Worker.Execution;

/// <summary>
/// Ends an attempt without an outcome: nothing is recorded and the message goes back to the queue (this throws), so
/// the attempt is spent like a crash's, within <see cref="TaskStateMachine.CrashAllowance"/>. A handler that is done
/// hands its lease back first, so the message's retry takes the task over at once; otherwise the lease runs out.
/// See docs/design.md#the-lease-is-the-only-licence-to-run-losing-a-connection-is-not-a-tasks-failure-issue-23-worker
/// </summary>
public sealed partial class PutBack(TaskStateMachine lifecycle, TimeProvider clock, TasksTelemetry telemetry, ILogger<PutBack> logger)
{
    internal async Task ThrowAsync(ClaimedTask task, RunningTask attempt, TaskOutcome.PutBackOutcome putBack, CancellationToken shutdown)
    {
        attempt.StopRenewing();
        if (putBack.HandlerReturned && !attempt.LeaseLost) await ReleaseLeaseAsync(task, attempt);
        if (attempt.ShuttingDown)
        {
            LogRequeued(logger, task.Id);
            shutdown.ThrowIfCancellationRequested();
        }
        telemetry.PutBack(task.Name, task.Queue);
        LogPutBack(logger, putBack.Cause, task.Id, putBack.Reason);
        throw new TaskPutBackException($"Task {task.Id}: put back ({putBack.Reason}).", putBack.Cause);
    }

    private async Task ReleaseLeaseAsync(ClaimedTask task, RunningTask attempt)
    {
        // A stopping worker tries once; otherwise until the database answers or the lease is about to be lost.
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(attempt.LeaseToken);
        if (attempt.ShuttingDown) bound.CancelAfter(TimeSpan.FromSeconds(2));
        while (!bound.IsCancellationRequested)
        {
            try
            {
                await lifecycle.ReleaseLeaseAsync(task, bound.Token);
                return;
            }
            catch (Exception e) when (ConnectionLoss.Is(e) && !bound.IsCancellationRequested && !attempt.ShuttingDown)
            {
                await PauseAsync(bound.Token);
            }
            catch (Exception e)
            {
                LogLeaseKept(logger, e, task.Id);
                return;
            }
        }
    }

    private async Task PauseAsync(CancellationToken bound)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), clock, bound);
        }
        catch (OperationCanceledException)
        {
            // the lease is about to be lost: nothing left to hand back
        }
    }

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: interrupted (worker stopping, or its broker connection lost); its message goes back to the queue")]
    private static partial void LogRequeued(ILogger logger, Guid taskId);

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: put back without an outcome ({Reason}); its message goes back to the queue and the task runs again")]
    private static partial void LogPutBack(ILogger logger, Exception? e, Guid taskId, string reason);

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: its lease could not be handed back; it runs out instead")]
    private static partial void LogLeaseKept(ILogger logger, Exception e, Guid taskId);
}
