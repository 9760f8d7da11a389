using Microsoft.EntityFrameworkCore;
using Tasks.Core.Data;
using Tasks.Core.Entities;
using Tasks.Core.Monitoring;

namespace Tasks.Core.Queries;

/// <summary>
/// The workers' rows with their state, judged by the database's clock (the one that wrote their heartbeats), not
/// this host's: a reader with a skewed clock can't call a live worker offline.
/// </summary>
public sealed class WorkerQueries(TasksDbContext db)
{
    /// <summary>Online first, then by name.</summary>
    public async Task<List<(WorkerRecord Worker, WorkerState State)>> ListAsync(CancellationToken ct)
    {
        var rows = await db.Workers.AsNoTracking().Select(w => new { Worker = w, Now = DateTimeOffset.UtcNow }).ToListAsync(ct);
        return [.. rows.Select(r => (r.Worker, WorkerStates.Of(r.Worker, r.Now)))
            .OrderBy(w => w.Item2 == WorkerState.Online ? 0 : 1).ThenBy(w => w.Worker.Name, StringComparer.Ordinal)];
    }

    public async Task<(WorkerRecord Worker, WorkerState State)?> GetAsync(string name, CancellationToken ct) =>
        await db.Workers.AsNoTracking().Where(w => w.Name == name).Select(w => new { Worker = w, Now = DateTimeOffset.UtcNow })
            .FirstOrDefaultAsync(ct) is { } row ? (row.Worker, WorkerStates.Of(row.Worker, row.Now)) : null;
}
