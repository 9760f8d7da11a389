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

    /// <summary>
    /// Snapshots in [<paramref name="from"/>, <paramref name="to"/>) added up per <paramref name="step"/>, steps aligned
    /// on multiples of it since the epoch; a step without snapshots is left out. Read in one pass, in time order.
    /// </summary>
    public static async Task<List<SeriesPoint>> SeriesAsync(TasksDbContext db, DateTimeOffset from, DateTimeOffset to, TimeSpan step, CancellationToken ct)
    {
        var points = new List<SeriesPoint>();
        var rows = db.MonitorSnapshots.AsNoTracking().Where(s => s.At >= from && s.At < to).OrderBy(s => s.At)
            .Select(s => new { s.At, s.WorkersOnline, s.WorkersOffline, s.WorkersStopped, s.Started, s.Succeeded, s.Failed, s.Retried,
                s.OutboxPending, s.OutboxOldestSeconds, s.Scheduled, s.States, s.Names, s.Queues })
            .AsAsyncEnumerable();
        var stepMs = (long)step.TotalMilliseconds;
        SeriesPoint? point = null;
        var rates = new Dictionary<string, (double Publish, double Deliver)>();
        await foreach (var s in rows.WithCancellation(ct))
        {
            var at = DateTimeOffset.FromUnixTimeMilliseconds(Math.DivRem(s.At.ToUnixTimeMilliseconds(), stepMs, out var rem) * stepMs - (rem < 0 ? stepMs : 0));
            if (point?.At != at)
            {
                if (point is not null) points.Add(Finish(point, rates));
                point = new SeriesPoint(at, 0, 0, 0, 0, 0, 0, 0, 0, 0, null, 0, [], new(StringComparer.Ordinal), new(StringComparer.Ordinal));
                rates.Clear();
            }
            var queues = MonitorJson.Read<Dictionary<string, QueueFigures>>(s.Queues);
            foreach (var (name, q) in queues)
            {
                var r = rates.GetValueOrDefault(name);
                rates[name] = (r.Publish + q.PublishRate, r.Deliver + q.DeliverRate);
                point.Queues[name] = q;
            }
            foreach (var (name, n) in MonitorJson.Read<Dictionary<string, NameFigures>>(s.Names))
            {
                var sum = point.Names.GetValueOrDefault(name);
                var run = sum?.RunMs ?? LatencyHistogram.Empty();
                var wait = sum?.WaitMs ?? LatencyHistogram.Empty();
                LatencyHistogram.Add(run, n.RunMs);
                LatencyHistogram.Add(wait, n.WaitMs);
                point.Names[name] = new NameFigures((sum?.Started ?? 0) + n.Started, (sum?.Succeeded ?? 0) + n.Succeeded,
                    (sum?.Failed ?? 0) + n.Failed, (sum?.Retried ?? 0) + n.Retried, null, null, null, null, null, run, wait);
            }
            point = point with
            {
                Snapshots = point.Snapshots + 1,
                WorkersOnline = s.WorkersOnline, WorkersOffline = s.WorkersOffline, WorkersStopped = s.WorkersStopped,
                Started = point.Started + s.Started, Succeeded = point.Succeeded + s.Succeeded,
                Failed = point.Failed + s.Failed, Retried = point.Retried + s.Retried,
                OutboxPending = s.OutboxPending, Scheduled = s.Scheduled,
                OutboxOldestSeconds = point.OutboxOldestSeconds is { } o && s.OutboxOldestSeconds is { } n2 ? Math.Max(o, n2) : point.OutboxOldestSeconds ?? s.OutboxOldestSeconds,
                States = MonitorJson.Read<Dictionary<string, long>>(s.States),
            };
        }
        if (point is not null) points.Add(Finish(point, rates));
        return points;
    }

    // Percentiles from the step's summed histograms; a queue's rates averaged over the step's snapshots.
    private static SeriesPoint Finish(SeriesPoint point, Dictionary<string, (double Publish, double Deliver)> rates)
    {
        foreach (var (name, n) in point.Names)
            point.Names[name] = NameFigures.From(n.Started, n.Succeeded, n.Failed, n.Retried, n.RunMs, n.WaitMs);
        foreach (var (name, q) in point.Queues)
            point.Queues[name] = q with { PublishRate = rates[name].Publish / point.Snapshots, DeliverRate = rates[name].Deliver / point.Snapshots };
        return point;
    }

    /// <summary>Alerts newest first, open ones only (<paramref name="active"/> true), ended ones only (false), or all (null).</summary>
    public static Task<List<MonitorAlert>> AlertsAsync(TasksDbContext db, bool? active, CancellationToken ct)
    {
        var query = db.MonitorAlerts.AsNoTracking();
        if (active is { } open) query = open ? query.Where(a => a.EndedAt == null) : query.Where(a => a.EndedAt != null);
        return query.OrderByDescending(a => a.StartedAt).ThenByDescending(a => a.Id).Take(MaxAlerts).ToListAsync(ct);
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
