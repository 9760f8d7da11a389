using Microsoft.EntityFrameworkCore;
using Tasks.Core.Data;

namespace Tasks.Core.Monitoring;

/// <summary>What needs attention first, from the snapshots of a recent window: the names failing most, the queues growing.</summary>
public static class AttentionQueries
{
    /// <summary>Task names with failed or retried attempts since <paramref name="since"/>, the most failures first.</summary>
    public static Task<List<FailingName>> FailingNamesAsync(TasksDbContext db, DateTimeOffset since, int limit, CancellationToken ct) =>
        db.Database.SqlQuery<FailingName>(
            $"""
            SELECT name, failed, retried, succeeded FROM (
                SELECT e.key AS name, sum((e.value ->> 'failed')::bigint)::bigint AS failed,
                       sum((e.value ->> 'retried')::bigint)::bigint AS retried, sum((e.value ->> 'succeeded')::bigint)::bigint AS succeeded
                FROM monitor_snapshots s CROSS JOIN LATERAL jsonb_each(s.names) e
                WHERE s.at >= {since} GROUP BY 1) n
            WHERE failed + retried > 0
            ORDER BY failed + retried DESC, name LIMIT {limit}
            """).ToListAsync(ct);

    /// <summary>
    /// Queues whose depth grew over the snapshots since <paramref name="since"/> (at least three of them) and is at its
    /// highest now: work arriving faster than it is taken.
    /// </summary>
    public static async Task<List<QueueGrowth>> GrowingQueuesAsync(TasksDbContext db, DateTimeOffset since, CancellationToken ct)
    {
        var rows = await db.Database.SqlQuery<QueueGrowth>(
            $"""
            SELECT e.key AS name, (array_agg((e.value ->> 'depth')::bigint ORDER BY s.at))[1] AS first_depth,
                   (array_agg((e.value ->> 'depth')::bigint ORDER BY s.at DESC))[1] AS last_depth,
                   max((e.value ->> 'depth')::bigint) AS max_depth, count(*)::int AS samples
            FROM monitor_snapshots s CROSS JOIN LATERAL jsonb_each(s.queues) e
            WHERE s.at >= {since} GROUP BY 1 ORDER BY 1
            """).ToListAsync(ct);
        return [.. rows.Where(q => q.Samples >= 3 && q.LastDepth > q.FirstDepth && q.LastDepth >= q.MaxDepth)];
    }
}

public sealed record FailingName(string Name, long Failed, long Retried, long Succeeded);

public sealed record QueueGrowth(string Name, long FirstDepth, long LastDepth, long MaxDepth, int Samples);
