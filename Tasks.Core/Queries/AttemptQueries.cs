using Microsoft.EntityFrameworkCore;
using Tasks.Core.Data;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Queries;

/// <summary>One attempt of a task as the history shows it; <see cref="EndedAt"/> is null while it runs.</summary>
public sealed record AttemptView(int Attempt, string? Worker, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, string Outcome, string? Error);

/// <summary>
/// A task's attempt history: the attempts that ended other than in success (task_attempts, written by the moves
/// that ended them), then the task row's own attempt when it is running or succeeded. See docs/design.md#attempt-history-issue-29.
/// </summary>
public sealed class AttemptQueries(TasksDbContext db)
{
    public async Task<List<AttemptView>> HistoryAsync(TaskRecord task, CancellationToken ct)
    {
        var history = await db.TaskAttempts.AsNoTracking()
            .Where(a => a.TaskId == task.Id)
            .OrderBy(a => a.Attempt)
            .Select(a => new AttemptView(a.Attempt, a.Worker, a.StartedAt, a.EndedAt, a.Outcome, a.Error))
            .ToListAsync(ct);
        // The row's own attempt has no history row: it is running, or it succeeded (the hot path writes no more).
        if (task.State is TaskState.Running or TaskState.Succeeded)
            history.Add(new(task.Attempts, task.Worker, task.StartedAt, task.State == TaskState.Running ? null : task.FinishedAt,
                task.State == TaskState.Running ? AttemptOutcomes.Running : AttemptOutcomes.Succeeded, null));
        return history;
    }
}
