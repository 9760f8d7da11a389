using Microsoft.EntityFrameworkCore;
using Tasks.Core.Data;
using Tasks.Core.Entities;

namespace Tasks.Core.Monitoring;

/// <summary>The reads of what the camera stored, for the JSON API and the dashboard alike.</summary>
public static class MonitorQueries
{
    public const int MaxPoints = 1000;
    public const int MaxAlerts = 500;

    /// <summary>The newest snapshot, without its baseline.</summary>
    public static Task<MonitorSnapshot?> LatestAsync(TasksDbContext db, CancellationToken ct) =>
        db.MonitorSnapshots.AsNoTracking().OrderByDescending(s => s.At).Select(s => new MonitorSnapshot
        {
            At = s.At, IntervalSeconds = s.IntervalSeconds, DurationMs = s.DurationMs,
            WorkersOnline = s.WorkersOnline, WorkersOffline = s.WorkersOffline, WorkersStopped = s.WorkersStopped,
            Started = s.Started, Succeeded = s.Succeeded, Failed = s.Failed, Retried = s.Retried,
            OutboxPending = s.OutboxPending, OutboxOldestSeconds = s.OutboxOldestSeconds, Scheduled = s.Scheduled,
            Workers = s.Workers, States = s.States, Names = s.Names, Queues = s.Queues, Baseline = "{}",
        }).FirstOrDefaultAsync(ct);

    /// <summary>Snapshots in [<paramref name="from"/>, <paramref name="to"/>) added up per <paramref name="step"/>, in SQL (<see cref="MonitorSeries"/>).</summary>
    public static Task<List<SeriesPoint>> SeriesAsync(TasksDbContext db, DateTimeOffset from, DateTimeOffset to, TimeSpan step, CancellationToken ct) =>
        MonitorSeries.SeriesAsync(db, from, to, step, ct);

    /// <summary>Alerts newest first, open ones only (<paramref name="active"/> true), ended ones only (false), or all (null).</summary>
    public static Task<List<MonitorAlert>> AlertsAsync(TasksDbContext db, bool? active, CancellationToken ct)
    {
        var query = db.MonitorAlerts.AsNoTracking();
        if (active is { } open) query = open ? query.Where(a => a.EndedAt == null) : query.Where(a => a.EndedAt != null);
        return query.OrderByDescending(a => a.StartedAt).ThenByDescending(a => a.Id).Take(MaxAlerts).ToListAsync(ct);
    }

    /// <summary>
    /// The queues the latest snapshot saw or an online worker consumes, by name: depth, consumers and rates as the
    /// snapshot saw them (null when it didn't), paused when every online worker consuming it paused it.
    /// </summary>
    public static async Task<(DateTimeOffset? At, List<QueueStatus> Items)> QueuesAsync(TasksDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var latest = await LatestAsync(db, ct);
        var seen = latest is null ? [] : MonitorJson.Read<Dictionary<string, QueueFigures>>(latest.Queues);
        var consumed = await ConsumedQueuesAsync(db, clock, ct);
        var items = seen.Keys.Union(consumed.Keys).Order(StringComparer.Ordinal).Select(name =>
        {
            var q = seen.GetValueOrDefault(name);
            return new QueueStatus(name, q?.Depth, q?.Consumers, q?.PublishRate, q?.DeliverRate, consumed.GetValueOrDefault(name), q?.Unacked);
        }).ToList();
        return (latest?.At, items);
    }

    /// <summary>The queues each online worker consumes, as their heartbeats report them (name → paused on every one of them).</summary>
    public static async Task<Dictionary<string, bool>> ConsumedQueuesAsync(TasksDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var consumed = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var worker in await db.Workers.AsNoTracking().Where(w => w.StoppedAt == null).ToListAsync(ct))
        {
            if (WorkerStates.Of(worker, now) != WorkerState.Online) continue;
            foreach (var queue in MonitorJson.Read<List<WorkerQueue>>(worker.Queues))
                consumed[queue.Name] = consumed.GetValueOrDefault(queue.Name, true) && queue.Paused;
        }
        return consumed;
    }
}
