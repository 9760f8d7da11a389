using Tasks.Core.Lifecycle;

namespace Tasks.Worker.Execution;

/// <summary>
/// What an attempt that ended in an exception records. Why the attempt's token fired decides it first (cancel,
/// time limit, lost lease, shutdown: the handler's exception is how it stopped); then a lost connection, which is
/// no failure of the task's; anything else is the handler's failure, retried within its attempts.
/// </summary>
internal static class ExceptionOutcome
{
    public static TaskOutcome Of(Exception e, RunningTask attempt, HandlerTransaction transaction) => e switch
    {
        // The handler outlived its stop grace (StopGrace): given up on, and abandoned with its transaction.
        TimeoutException when transaction.HandlerRunning && (attempt.TimedOut || attempt.CancelRequested || attempt.ShuttingDown || attempt.LeaseLost) =>
            Stopped(attempt, abandoned: true),
        OperationCanceledException when attempt.Token.IsCancellationRequested => Stopped(attempt, abandoned: false),
        _ when attempt.CancelRequested || attempt.TimedOut || attempt.LeaseLost => Stopped(attempt, abandoned: false), // thrown on its way out
        // The database (or broker) went away under the handler, its progress report or its outcome. What it did is
        // rolled back or, if its commit's reply was what got lost, found at the next claim.
        _ when ConnectionLoss.Is(e) || transaction.ConnectionBroken =>
            new TaskOutcome.PutBackOutcome("it lost its database or broker connection", e, HandlerReturned: !transaction.HandlerRunning),
        _ => new TaskOutcome.RetryOutcome($"{e.GetType().Name}: {e.Message}", null, e.ToString()),
    };

    private static TaskOutcome Stopped(RunningTask attempt, bool abandoned)
    {
        if (attempt.LeaseLost) return new TaskOutcome.PutBackOutcome("its lease could not be renewed in time, or was taken over", null, !abandoned);
        if (attempt.CancelRequested) return TaskOutcome.Cancel("Canceled while running.");
        if (attempt.TimedOut)
            return new TaskOutcome.FailOutcome(abandoned
                ? "Timed out: passed its time limit and did not stop within the grace period; abandoned."
                : "Timed out: passed its time limit.");
        return new TaskOutcome.PutBackOutcome("interrupted: the worker is stopping or lost its broker connection", null, !abandoned);
    }
}
