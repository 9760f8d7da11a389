using Microsoft.EntityFrameworkCore;
using Tasks.Core.Data;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Queries;

/// <summary>
/// Every read of tasks, for the JSON API and the dashboard pages alike. Lists are keyset-paged on the UUIDv7 id
/// (newest first) and use the (state, id) index of tasks or the (name|queue, id) indexes of task_lookup; they never
/// read the large columns.
/// </summary>
public sealed class TaskQueries(TasksDbContext db)
{
    public const int MaxLimit = 500;

    public Task<TaskRecord?> GetAsync(Guid id, CancellationToken ct) =>
        db.Tasks.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, ct);

    public async Task<(List<TaskSummary> Items, Guid? Next)> ListAsync(TaskFilter filter, CancellationToken ct)
    {
        var query = db.Tasks.AsNoTracking();
        // The time range and the cursor are both id bounds: whichever index walks, it starts and stops at them.
        var (below, atLeast) = Bounds(filter);
        if (below is { } upper) query = query.Where(t => t.Id < upper);
        if (atLeast is { } lower) query = query.Where(t => t.Id >= lower);
        if (filter.Name is not null || filter.Queue is not null)
        {
            // Walked in id order through task_lookup's (name|queue, id) index, each task then found by key. The
            // cursor bounds both sides: PostgreSQL doesn't carry an inequality across the join, and a merge join from
            // the newest task walks every row above a deep cursor (docs/design.md#indexes-the-updates-dont-write).
            var lookup = db.TaskLookup;
            if (filter.Name is { } name) lookup = lookup.Where(l => l.Name == name);
            if (filter.Queue is { } queue) lookup = lookup.Where(l => l.Queue == queue);
            if (below is { } cursor) lookup = lookup.Where(l => l.Id < cursor);
            if (atLeast is { } from) lookup = lookup.Where(l => l.Id >= from);
            query = lookup.Join(query, l => l.Id, t => t.Id, (l, t) => t);
        }
        if (filter.State is { } state) query = query.Where(t => t.State == state);
        if (filter.Schedule is { } schedule) query = query.Where(t => t.ScheduleName == schedule);
        if (filter.Error is { } error) // as FilterSql: the first line, and a task without an error has an empty one
            query = query.Where(t => t.Error == error || t.Error!.StartsWith(error + "\n") || (error == "" && t.Error == null));

        var items = await query
            .OrderByDescending(t => t.Id)
            .Take(filter.Limit + 1)
            .Select(t => new TaskSummary(t.Id, t.Name, t.Queue, t.State, t.Attempts, t.MaxAttempts, t.AttemptsBase,
                t.ProgressCurrent, t.ProgressTotal, t.ProgressMessage, t.Error,
                t.EnqueuedAt, t.ScheduledFor, t.StartedAt, t.FinishedAt, t.Worker, t.ScheduleName))
            .ToListAsync(ct);
        Guid? next = null;
        if (items.Count > filter.Limit)
        {
            items.RemoveAt(items.Count - 1);
            next = items[^1].Id;
        }
        return (items, next);
    }

    /// <summary>A filter's id bounds: below (exclusive; the cursor or <c>to</c>, whichever is lower) and at least (<c>from</c>).</summary>
    public static (Guid? Below, Guid? AtLeast) Bounds(TaskFilter filter)
    {
        Guid? below = filter.To is { } to ? TaskFilter.IdAt(to) : null;
        if (filter.After is { } after && (below is null || after.CompareTo(below.Value) < 0)) below = after;
        return (below, filter.From is { } from ? TaskFilter.IdAt(from) : null);
    }

    /// <summary>
    /// Failed tasks grouped by name and their error's first line, the most recently failed group first. Read from
    /// the summary the triggers of the FailedGroups migration keep, a few rows per group, never from the failed rows
    /// themselves (docs/design.md#failed-groups-without-reading-the-failed-rows-issue-29). "Last failed" is when a
    /// task last entered the group.
    /// </summary>
    public Task<List<FailedGroup>> FailedGroupsAsync(int limit, CancellationToken ct) =>
        db.Database.SqlQuery<FailedGroup>(
            $"""
            SELECT name, error, sum(n)::bigint AS count, max(last_failed_at) AS last_failed_at
            FROM task_failed_groups
            GROUP BY 1, 2 HAVING sum(n) > 0 ORDER BY 4 DESC NULLS LAST, 1, 2 LIMIT {limit}
            """).ToListAsync(ct);

    /// <summary>
    /// Tasks per state, exact and as of one snapshot, without counting rows: the triggers of the StateCounts
    /// migration keep a running total per state (a few rows per writing connection), and this sums them.
    /// </summary>
    public async Task<Dictionary<TaskState, long>> CountByStateAsync(CancellationToken ct)
    {
        var rows = await db.Database
            .SqlQuery<StateCount>($"SELECT state AS \"State\", sum(n)::bigint AS \"Count\" FROM task_state_counts GROUP BY state")
            .ToListAsync(ct);
        var counts = new Dictionary<TaskState, long>();
        foreach (var row in rows)
            if (row.Count != 0 && TaskStateMachine.TryParseState(row.State, out var state)) counts[state] = row.Count;
        return counts;
    }

    private sealed record StateCount(string State, long Count);
}

/// <summary>A group of the failed view: how many failed tasks of a name share an error's first line, and when the last failed.</summary>
public sealed record FailedGroup(string Name, string Error, long Count, DateTimeOffset? LastFailedAt);
