using Microsoft.Extensions.Logging;
using Tasks.Core.Data;
using Tasks.Core.Lifecycle;

namespace Tasks.Worker.Execution;

/// <summary>Everything a handler gets besides its args, for one attempt of one task.</summary>
public sealed partial class TaskContext
{
    private readonly ClaimedTask _task;
    private readonly AfterCommitQueue _afterCommit;
    private readonly TaskStateMachine _lifecycle;
    private readonly ILogger _logger;

    internal TaskContext(ClaimedTask task, TasksDbContext db, AfterCommitQueue afterCommit, HandlerTransactions shared, CancellationToken ct)
    {
        _task = task;
        _afterCommit = afterCommit;
        (_lifecycle, _logger) = (shared.Lifecycle, shared.Logger);
        Db = db;
        CancellationToken = ct;
    }

    public Guid TaskId => _task.Id;
    public string Name => _task.Name;
    public string Queue => _task.Queue;

    /// <summary>1 for the first attempt; counts every attempt of the task, crashes and manual retries included.</summary>
    public int Attempt => _task.Attempt;
    public string Worker => _task.Worker;

    /// <summary>Fires on the task's time limit, when someone cancels it, and at the end of a shutdown's grace period.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>This message's own DbContext, inside a transaction that commits with the task's success.</summary>
    public TasksDbContext Db { get; }

    /// <summary>Runs <paramref name="callback"/> after this attempt's database work commits; never if it rolls back.</summary>
    public void AfterCommit(Func<CancellationToken, Task> callback) => _afterCommit.Add(callback);

    /// <summary>
    /// Progress the API and dashboard show while the task runs (written at once, outside the transaction). Best
    /// effort: a report the database can't take (it is restarting, say) is logged and skipped, never the task's
    /// failure. Throws only when the task's token fired.
    /// </summary>
    public async Task ReportProgressAsync(long current, long? total = null, string? message = null)
    {
        // Not the handler's own use of the database: its success may still be written with other tasks' (and this
        // async method's change of the flag ends with it).
        DatabaseUse.Unwatch();
        try
        {
            await _lifecycle.ReportProgressAsync(_task, current, total, message, CancellationToken);
        }
        catch (Exception e) when (!CancellationToken.IsCancellationRequested)
        {
            LogProgressLost(_logger, e, _task.Id);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: a progress report could not be written; the task goes on")]
    private static partial void LogProgressLost(ILogger logger, Exception e, Guid taskId);
}
