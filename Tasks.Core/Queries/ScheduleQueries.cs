using Microsoft.EntityFrameworkCore;
using Tasks.Core.Data;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Queries;

/// <summary>A schedule's fires, read from its tasks (newest first, through the (schedule_name, id) index).</summary>
public sealed class ScheduleQueries(TasksDbContext db)
{
    public const int MaxLimit = 500;

    public Task<List<ScheduleFire>> RecentFiresAsync(string schedule, int limit, CancellationToken ct) =>
        db.Tasks.AsNoTracking()
            .Where(t => t.ScheduleName == schedule)
            .OrderByDescending(t => t.Id)
            .Take(limit)
            .Select(t => new ScheduleFire(t.ScheduledFireTime ?? t.EnqueuedAt, t.Id, t.State))
            .ToListAsync(ct);

    /// <summary>Each schedule's newest fire, in one query for any number of schedules (one index probe each).</summary>
    public async Task<Dictionary<string, ScheduleFire>> LastFiresAsync(IEnumerable<string> schedules, CancellationToken ct)
    {
        var names = schedules.ToArray();
        if (names.Length == 0) return [];
        var last = await db.Tasks.FromSql(
                $"SELECT t.* FROM unnest({names}) AS s(name) CROSS JOIN LATERAL (SELECT * FROM tasks WHERE schedule_name = s.name ORDER BY id DESC LIMIT 1) t")
            .AsNoTracking()
            .Select(t => new { t.ScheduleName, Fire = new ScheduleFire(t.ScheduledFireTime ?? t.EnqueuedAt, t.Id, t.State) })
            .ToListAsync(ct);
        return last.ToDictionary(l => l.ScheduleName!, l => l.Fire, StringComparer.Ordinal);
    }
}

/// <summary>One fire of a schedule: the time it stood for, and the task it enqueued.</summary>
public sealed record ScheduleFire(DateTimeOffset FireTime, Guid TaskId, TaskState State);
