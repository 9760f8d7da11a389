using Tasks.Core.Lifecycle;

namespace Tasks.Worker.Execution;

/// <summary>How long a task that asked to be retried waits, when its handler didn't say.</summary>
internal static class Backoff
{
    /// <summary>Exponential back-off with full jitter over its upper half: base·2^(n-1)·[0.5, 1), capped at a day.</summary>
    public static TimeSpan Of(ClaimedTask task)
    {
        var n = Math.Max(1, task.Attempt - task.AttemptsBase);
        var seconds = Math.Min(task.BackoffSeconds * Math.Pow(2, n - 1), 86400);
        return TimeSpan.FromSeconds(seconds * (0.5 + Random.Shared.NextDouble() / 2));
    }
}
