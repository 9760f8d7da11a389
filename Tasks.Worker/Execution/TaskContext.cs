using Tasks.Core.Data;
using Tasks.Core.Lifecycle;

namespace Tasks.Worker.Execution;

/// <summary>Everything a handler gets besides its args, for one attempt of one task.</summary>
public sealed class TaskContext
{
    private readonly ClaimedTask _task;
    private readonly TaskStateMachine _lifecycle;
    private readonly AfterCommitQueue _afterCommit;

    internal TaskContext(ClaimedTask task, TaskStateMachine lifecycle, TasksDbContext db, AfterCommitQueue afterCommit, CancellationToken ct)
    {
        _task = task;
        _lifecycle = lifecycle;
        _afterCommit = afterCommit;
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

    /// <summary>Progress the API and dashboard show while the task runs (written at once, outside the transaction).</summary>
    public Task ReportProgressAsync(long current, long? total = null, string? message = null) =>
        _lifecycle.ReportProgressAsync(_task, current, total, message, CancellationToken);
}
