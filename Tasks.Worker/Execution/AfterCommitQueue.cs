using Microsoft.Extensions.Logging;

namespace Tasks.Worker.Execution;

/// <summary>
/// Callbacks a task registers while it runs, run in order once its database work has committed, and dropped when
/// it rolls back: a notification never goes out for work that didn't happen.
/// </summary>
public sealed partial class AfterCommitQueue
{
    private readonly List<Func<CancellationToken, Task>> _callbacks = [];

    public void Add(Func<CancellationToken, Task> callback) => _callbacks.Add(callback);

    internal int Count => _callbacks.Count;

    internal IReadOnlyList<Func<CancellationToken, Task>> Drain()
    {
        var all = _callbacks.ToArray();
        _callbacks.Clear();
        return all;
    }

    /// <summary>Runs the callbacks in order; one that fails is logged, not retried: the work it follows is committed.</summary>
    internal async Task RunAsync(Guid taskId, ILogger logger)
    {
        foreach (var callback in Drain())
        {
            try
            {
                await callback(CancellationToken.None);
            }
            catch (Exception e)
            {
                LogFailed(logger, e, taskId);
            }
        }
    }

    [LoggerMessage(LogLevel.Error, "Task {TaskId}: an after-commit callback failed")]
    private static partial void LogFailed(ILogger logger, Exception e, Guid taskId);
}
