using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tasks.Core.Telemetry;
using Tasks.Worker.Monitoring;

namespace Tasks.Worker.Execution;

/// <summary>
/// The worker's path, for each task of a message:
/// 1. take a slot of its queue (<see cref="TaskSlots"/>: tasks that wait too long go back to the queue);
/// 2. claim the task row (<see cref="TaskClaims"/>: a duplicate, stale, canceled or expired message is dropped), in
///    its trace and log scope (<see cref="TaskTrace"/>);
/// 3. run the handler in a DI scope and transaction of its own (<see cref="HandlerTransaction"/>), given up on if it
///    ignores its token (<see cref="StopGrace"/>, <see cref="HandlerAbandonment"/>);
/// 4. record the outcome: a success commits with the handler's work; a failure, retry (<see cref="Backoff"/>) or
///    cancel is written on its own (<see cref="OutcomeRecorder"/>), once the handler's work is rolled back;
/// 5. run the after-commit callbacks of a success;
/// 6. release the slot.
/// It returns once the outcome is committed, and only then is the message acknowledged. An attempt that can't
/// record an outcome (shutdown, a lost connection, a lost lease) throws instead (<see cref="PutBack"/>): the message
/// goes back to the queue. See docs/design.md#the-workers-path-one-story-small-parts-issue-24
/// </summary>
public sealed partial class TaskRunner
{
    private readonly TaskSlots _slots;
    private readonly RunningTasks _running;
    private readonly TaskClaims _claims;
    private readonly HandlerCatalog _handlers;
    private readonly HandlerTransactions _transactions;
    private readonly OutcomeRecorder _outcomes;
    private readonly TasksTelemetry _telemetry;
    private readonly WorkerCounters _counters;
    private readonly ILogger<TaskRunner> _logger;
    private readonly Func<TaskMessage, int, SlotHold, CancellationToken, Task> _runInSlot;

    public TaskRunner(TaskSlots slots, RunningTasks running, TaskClaims claims, HandlerCatalog handlers,
        HandlerTransactions transactions, OutcomeRecorder outcomes, TasksTelemetry telemetry, WorkerCounters counters,
        ILogger<TaskRunner> logger)
    {
        _counters = counters;
        (_slots, _running, _claims, _handlers) = (slots, running, claims, handlers);
        (_transactions, _outcomes, _telemetry, _logger) = (transactions, outcomes, telemetry, logger);
        _runInSlot = RunInSlotAsync;
    }

    /// <summary>Runs the tasks of one message; returns when each has an outcome or has gone back to the queue.</summary>
    public Task RunAsync(TaskMessage message, CancellationToken shutdown) => _slots.RunAsync(message, _runInSlot, shutdown);

    private async Task RunInSlotAsync(TaskMessage message, int index, SlotHold slot, CancellationToken shutdown)
    {
        using var attempt = _running.TryStart(message.TaskIds[index], shutdown);
        if (attempt is null)
        {
            LogDuplicate(_logger, message.TaskIds[index]);
            return;
        }
        if (await _claims.ClaimAsync(attempt.Id, message.MessageId, attempt, shutdown) is not { } task) return;
        using var trace = TaskTrace.Start(task, message.TraceParent(index), _logger);
        if (!_handlers.TryGet(task.Name, out var handler))
        {
            // Likely a rolling deploy (an older worker on the queue): try again later, within the task's attempts.
            await _outcomes.WriteAsync(task, TaskOutcome.Retry($"Worker {task.Worker} has no handler for task '{task.Name}'."));
            return;
        }
        var started = Stopwatch.GetTimestamp();
        TaskOutcome? outcome;
        await using (var transaction = _transactions.Begin(task, attempt, slot))
        {
            try
            {
                outcome = await transaction.RunAsync(handler);
                if (outcome is TaskOutcome.SucceededOutcome success) outcome = await transaction.CommitAsync(success);
                if (outcome is null) await transaction.RunAfterCommitAsync();
            }
            catch (Exception e)
            {
                outcome = ExceptionOutcome.Of(e, attempt, transaction);
            }
        }
        var took = Stopwatch.GetElapsedTime(started);
        _telemetry.Ran(task.Name, task.Queue, took);
        _counters.Ran(task.Name, took);
        if (outcome is null) return; // nothing left to record: committed, or taken over meanwhile
        trace.Failed(outcome);
        await _outcomes.RecordAsync(task, attempt, outcome, shutdown);
        LogFinished(_logger, task.Id, outcome.GetType().Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    [LoggerMessage(LogLevel.Debug, "Task {TaskId}: this worker is running it already; duplicate message dropped")]
    private static partial void LogDuplicate(ILogger logger, Guid taskId);

    [LoggerMessage(LogLevel.Information, "Task {TaskId} ended with {Outcome} after {ElapsedMs:0} ms")]
    private static partial void LogFinished(ILogger logger, Guid taskId, string outcome, double elapsedMs);
}
