using Microsoft.EntityFrameworkCore;
using Tasks.Core.Data;

namespace Tasks.Core.Monitoring;

/// <summary>
/// A series of snapshots added up per step in SQL (docs/design.md, "A series is added up in SQL"): PostgreSQL reads
/// the range and hands back one row per step (and per step and name or queue), never every snapshot. Steps are aligned
/// on multiples of the step since the epoch; a step without snapshots is left out.
/// </summary>
public static class MonitorSeries
{
    /// <summary>The steps' counters summed and gauges as the step's last snapshot saw them: what the charts draw.</summary>
    public static Task<List<StepTotals>> TotalsAsync(TasksDbContext db, DateTimeOffset from, DateTimeOffset to, TimeSpan step, CancellationToken ct)
    {
        var s = step.TotalSeconds;
        return db.Database.SqlQuery<StepTotals>(
            $"""
            SELECT to_timestamp(b * {s}) AS at, count(*)::int AS snapshots,
                   (array_agg(workers_online ORDER BY at DESC))[1] AS workers_online,
                   (array_agg(workers_offline ORDER BY at DESC))[1] AS workers_offline,
                   (array_agg(workers_stopped ORDER BY at DESC))[1] AS workers_stopped,
                   sum(started)::bigint AS started, sum(succeeded)::bigint AS succeeded,
                   sum(failed)::bigint AS failed, sum(retried)::bigint AS retried,
                   (array_agg(outbox_pending ORDER BY at DESC))[1] AS outbox_pending,
                   max(outbox_oldest_seconds) AS outbox_oldest_seconds,
                   (array_agg(scheduled ORDER BY at DESC))[1] AS scheduled,
                   (array_agg(states ORDER BY at DESC))[1]::text AS states
            FROM (SELECT floor(extract(epoch FROM at) / {s}) AS b, * FROM monitor_snapshots WHERE at >= {from} AND at < {to}) s
            GROUP BY b ORDER BY b
            """).ToListAsync(ct);
    }

    /// <summary>
    /// The whole series: <see cref="TotalsAsync"/> plus, per step, each name's counters and summed histograms (its
    /// percentiles taken again from them) and each queue as the step's last snapshot saw it, rates averaged over the step.
    /// </summary>
    public static async Task<List<SeriesPoint>> SeriesAsync(TasksDbContext db, DateTimeOffset from, DateTimeOffset to, TimeSpan step, CancellationToken ct)
    {
        var s = step.TotalSeconds;
        var points = (await TotalsAsync(db, from, to, step, ct)).Select(t => new SeriesPoint(
            t.At, t.Snapshots, t.WorkersOnline, t.WorkersOffline, t.WorkersStopped, t.Started, t.Succeeded, t.Failed, t.Retried,
            t.OutboxPending, t.OutboxOldestSeconds, t.Scheduled, MonitorJson.Read<Dictionary<string, long>>(t.States),
            new(StringComparer.Ordinal), new(StringComparer.Ordinal))).ToDictionary(p => p.At);

        var names = await db.Database.SqlQuery<NameRow>(
            $"""
            WITH s AS (SELECT floor(extract(epoch FROM at) / {s}) AS b, names FROM monitor_snapshots WHERE at >= {from} AND at < {to}),
            n AS (SELECT s.b, e.key AS name, e.value AS v FROM s CROSS JOIN LATERAL jsonb_each(s.names) e),
            h AS (SELECT n.b, n.name, k.kind, x.i, sum(x.c::bigint)::bigint AS c
                  FROM n CROSS JOIN LATERAL (VALUES ('run', n.v -> 'runMs'), ('wait', n.v -> 'waitMs')) k(kind, arr)
                  CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(k.arr) = 'array' THEN k.arr ELSE '[]'::jsonb END) WITH ORDINALITY x(c, i)
                  GROUP BY 1, 2, 3, 4),
            hh AS (SELECT b, name, array_agg(c ORDER BY i) FILTER (WHERE kind = 'run') AS run_ms,
                          array_agg(c ORDER BY i) FILTER (WHERE kind = 'wait') AS wait_ms
                   FROM h GROUP BY 1, 2)
            SELECT to_timestamp(t.b * {s}) AS at, t.name, t.started, t.succeeded, t.failed, t.retried,
                   coalesce(hh.run_ms, ARRAY[]::bigint[]) AS run_ms, coalesce(hh.wait_ms, ARRAY[]::bigint[]) AS wait_ms
            FROM (SELECT b, name, sum((v ->> 'started')::bigint)::bigint AS started, sum((v ->> 'succeeded')::bigint)::bigint AS succeeded,
                         sum((v ->> 'failed')::bigint)::bigint AS failed, sum((v ->> 'retried')::bigint)::bigint AS retried
                  FROM n GROUP BY 1, 2) t
            LEFT JOIN hh USING (b, name)
            """).ToListAsync(ct);
        foreach (var n in names)
        {
            var run = LatencyHistogram.Empty();
            var wait = LatencyHistogram.Empty();
            LatencyHistogram.Add(run, n.RunMs);
            LatencyHistogram.Add(wait, n.WaitMs);
            points[n.At].Names[n.Name] = NameFigures.From(n.Started, n.Succeeded, n.Failed, n.Retried, run, wait);
        }

        var queues = await db.Database.SqlQuery<QueueRow>(
            $"""
            WITH s AS (SELECT floor(extract(epoch FROM at) / {s}) AS b, at, queues FROM monitor_snapshots WHERE at >= {from} AND at < {to}),
            c AS (SELECT b, count(*) AS snapshots FROM s GROUP BY b)
            SELECT to_timestamp(q.b * {s}) AS at, q.name, q.depth, q.consumers,
                   q.publish / c.snapshots AS publish_rate, q.deliver / c.snapshots AS deliver_rate, coalesce(q.unacked, 0) AS unacked
            FROM (SELECT s.b, e.key AS name,
                         (array_agg((e.value ->> 'depth')::bigint ORDER BY s.at DESC))[1] AS depth,
                         (array_agg((e.value ->> 'consumers')::int ORDER BY s.at DESC))[1] AS consumers,
                         (array_agg((e.value ->> 'unacked')::bigint ORDER BY s.at DESC))[1] AS unacked,
                         sum((e.value ->> 'publishRate')::float8) AS publish, sum((e.value ->> 'deliverRate')::float8) AS deliver
                  FROM s CROSS JOIN LATERAL jsonb_each(s.queues) e GROUP BY 1, 2) q
            JOIN c USING (b)
            """).ToListAsync(ct);
        foreach (var q in queues) points[q.At].Queues[q.Name] = new QueueFigures(q.Depth, q.Consumers, q.PublishRate, q.DeliverRate, q.Unacked);

        return [.. points.Values.OrderBy(p => p.At)];
    }

    private sealed record NameRow(DateTimeOffset At, string Name, long Started, long Succeeded, long Failed, long Retried, long[] RunMs, long[] WaitMs);

    // Unacked: for the QueueFigures field of the same name, in snapshots that record it (null in older ones).
    private sealed record QueueRow(DateTimeOffset At, string Name, long Depth, int Consumers, double PublishRate, double DeliverRate, long Unacked);
}

/// <summary>One step of <see cref="MonitorSeries.TotalsAsync"/>; <see cref="States"/> is the last snapshot's JSON object (state → count).</summary>
public sealed record StepTotals(
    DateTimeOffset At, int Snapshots, int WorkersOnline, int WorkersOffline, int WorkersStopped,
    long Started, long Succeeded, long Failed, long Retried, long OutboxPending, double? OutboxOldestSeconds, long Scheduled, string States);
