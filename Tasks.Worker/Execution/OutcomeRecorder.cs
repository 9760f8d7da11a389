using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;
using Tasks.Worker.Monitoring;

namespace Tasks.Worker.Execution;

/// <summary>
/// Writes the outcome of an attempt that didn't succeed (retry, fail, cancel) as the task's next state, on a
/// connection of its own; an attempt that can't or mustn't record one (put back, taken over, worker stopping, its
/// write cut off) is put back instead. Each write is conditional on the attempt: a take-over makes it record nothing.
/// </summary>
public sealed partial class OutcomeRecorder(
    TaskStateMachine lifecycle, PutBack putBack, TimeProvider clock, TasksTelemetry telemetry, WorkerCounters counters,
    ILogger<OutcomeRecorder> logger)
{
    public async Task RecordAsync(ClaimedTask task, RunningTask attempt, TaskOutcome outcome, CancellationToken shutdown)
    {
        if (outcome is TaskOutcome.PutBackOutcome back) await putBack.ThrowAsync(task, attempt, back, shutdown);
        // Cut short by shutdown, or taken over while the handler finished: nothing is recorded.
        if (attempt.ShuttingDown && !attempt.CancelRequested && !attempt.TimedOut)
            await putBack.ThrowAsync(task, attempt, new("the worker is stopping", null, HandlerReturned: true), shutdown);
        if (attempt.LeaseTaken)
            await putBack.ThrowAsync(task, attempt, new("its lease was taken over", null, HandlerReturned: true), shutdown);
        attempt.Finishing();
        try
        {
            await WriteAsync(task, outcome);
        }
        catch (Exception e) when (ConnectionLoss.Is(e))
        {
            // Not recorded, or recorded with its reply lost: the message's redelivery finds out at its claim.
            await putBack.ThrowAsync(task, attempt, new("its outcome could not be written", e, HandlerReturned: true), shutdown);
        }
    }

    /// <summary>The outcome's state write alone, and its count.</summary>
    public async Task WriteAsync(ClaimedTask task, TaskOutcome outcome)
    {
        var (recorded, count, end) = outcome switch
        {
            TaskOutcome.RetryOutcome retry when task.HasAttemptsLeft => (
                await lifecycle.FailAsync(task, retry.Reason, retry.Details, clock.GetUtcNow() + (retry.After ?? Backoff.Of(task)), CancellationToken.None),
                (Action<string, string>)telemetry.Retried, AttemptEnd.Retried),
            TaskOutcome.RetryOutcome retry => (
                await lifecycle.FailAsync(task, retry.Reason, retry.Details, null, CancellationToken.None), telemetry.Failed, AttemptEnd.Failed),
            TaskOutcome.FailOutcome fail => (
                await lifecycle.FailAsync(task, fail.Reason, fail.Details, null, CancellationToken.None), telemetry.Failed, AttemptEnd.Failed),
            TaskOutcome.CancelOutcome cancel => (
                await lifecycle.CancelAsync(task, cancel.Reason, CancellationToken.None), telemetry.Canceled, AttemptEnd.Canceled),
            _ => throw new UnreachableException($"Unexpected outcome {outcome}."),
        };
        if (recorded)
        {
            count(task.Name, task.Queue);
            counters.Ended(task.Name, end);
        }
        else LogClaimLost(logger, task.Id);
    }

    /// <summary>The task was taken over meanwhile: this attempt's outcome is not recorded.</summary>
    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: another attempt took the task over; this attempt's outcome is discarded")]
    internal static partial void LogClaimLost(ILogger logger, Guid taskId);
}
