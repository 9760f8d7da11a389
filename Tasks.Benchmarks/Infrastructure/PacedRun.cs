using System.Diagnostics;
using Npgsql;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>Scenario 5's run: single enqueues at a steady rate on a <see cref="TasksStack"/>, and how soon each started.</summary>
public static class PacedRun
{
    /// <summary>How <see cref="RunAsync"/> names its CPU-per-task figures: the prefix, then the process.</summary>
    public const string CpuPrefix = "CPU per task: ";

    public const string AutovacuumKey = "autovacuums of tasks during the run";
    public const string AutoanalyzeKey = "autoanalyzes of tasks during the run";

    /// <summary>
    /// Enqueues single tasks at a steady <paramref name="rate"/> for <paramref name="duration"/> (each its own
    /// call, as concurrent API requests would), waits for them, and returns enqueue→start and enqueue→succeeded
    /// percentiles in ms, with the run's CPU per task and the table's autovacuums.
    /// </summary>
    public static async Task<Dictionary<string, double>> RunAsync(TasksStack stack, double rate, TimeSpan duration, TimeSpan timeout)
    {
        var (since, finishedBefore) = await stack.MarkRunAsync();
        var activityBefore = await TableActivityAsync(stack);
        var walBefore = await WalActivity.ReadAsync(stack.Isolated.Postgres);
        var cpuBefore = CpuTime.Now(stack.Workers.Select(w => w.Pid));
        var total = (int)(rate * duration.TotalSeconds);
        var inflight = new List<Task>(total);
        var clock = Stopwatch.StartNew();
        var issued = 0;
        while (issued < total)
        {
            var due = Math.Min(total, (int)(clock.Elapsed.TotalSeconds * rate));
            for (; issued < due; issued++) inflight.Add(Task.Run(() => stack.EnqueueAsync(1, CancellationToken.None)));
            await Task.Delay(1);
        }
        await Task.WhenAll(inflight);
        await stack.WaitFinishedAsync(finishedBefore + total, timeout);
        var cpu = CpuTime.PerTask(cpuBefore, CpuTime.Now(stack.Workers.Select(w => w.Pid)), total);
        var wal = (await WalActivity.ReadAsync(stack.Isolated.Postgres)).PerTask(walBefore, total);

        await using var conn = new NpgsqlConnection(stack.Isolated.Postgres);
        await conn.OpenAsync();
        // Also p99 second by second (by enqueue time): whether the run's tail is spread over it or comes from a few
        // seconds (autovacuum on the table, above all, which the run counts).
        await using var cmd = new NpgsqlCommand(
            """
            WITH run AS (
                SELECT enqueued_at, extract(epoch FROM started_at - enqueued_at) * 1000 AS start_ms,
                       extract(epoch FROM finished_at - enqueued_at) * 1000 AS end_ms, finished_at
                FROM tasks WHERE state = 'succeeded' AND enqueued_at >= $1),
            seconds AS (
                SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY start_ms) AS p99
                FROM run GROUP BY date_trunc('second', enqueued_at))
            SELECT percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY start_ms),
                   percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY end_ms),
                   count(*) / nullif(extract(epoch FROM max(finished_at) - min(enqueued_at)), 0),
                   (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY p99) FROM seconds),
                   (SELECT max(p99) FROM seconds)
            FROM run
            """, conn);
        cmd.Parameters.Add(new() { Value = since });
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        var start = reader.GetFieldValue<double[]>(0);
        var end = reader.GetFieldValue<double[]>(1);
        var figures = new Dictionary<string, double>
        {
            ["start p50"] = start[0], ["start p95"] = start[1], ["start p99"] = start[2],
            ["succeeded p50"] = end[0], ["succeeded p95"] = end[1], ["succeeded p99"] = end[2],
            ["achieved rate"] = (double)reader.GetDecimal(2),
            ["start p99, median of the seconds"] = reader.GetDouble(3),
            ["start p99, worst second"] = reader.GetDouble(4),
        };
        var activityAfter = await TableActivityAsync(stack);
        figures[AutovacuumKey] = activityAfter.Vacuums - activityBefore.Vacuums;
        figures[AutoanalyzeKey] = activityAfter.Analyzes - activityBefore.Analyzes;
        foreach (var (process, us) in cpu) figures[CpuPrefix + process] = us;
        await reader.DisposeAsync();
        BenchContext.Log($"  enqueue→start p99 by second (ms): {await SecondsAsync(conn, since)}; "
            + $"{(activityAfter.Commits - activityBefore.Commits) / total:0.00} commits per task; {wal}");
        return figures;
    }

    /// <summary>Autovacuums and autoanalyzes of <c>tasks</c> so far, and the database's commits (statements, mostly).</summary>
    private static async Task<(double Vacuums, double Analyzes, double Commits)> TableActivityAsync(TasksStack stack)
    {
        await using var conn = new NpgsqlConnection(stack.Isolated.Postgres);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            """
            SELECT pg_stat_clear_snapshot(), autovacuum_count, autoanalyze_count,
                   (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())
            FROM pg_stat_user_tables WHERE relname = 'tasks'
            """, conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    /// <summary>Each second's enqueue→start p99 of the run, in order: where in the run its tail was.</summary>
    private static async Task<string> SecondsAsync(NpgsqlConnection conn, DateTimeOffset since)
    {
        await using var cmd = new NpgsqlCommand(
            """
            SELECT string_agg(round(p99)::text, ' ' ORDER BY second) FROM (
                SELECT date_trunc('second', enqueued_at) AS second,
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - enqueued_at) * 1000) AS p99
                FROM tasks WHERE state = 'succeeded' AND enqueued_at >= $1 GROUP BY 1) s
            """, conn);
        cmd.Parameters.Add(new() { Value = since });
        return (string?)await cmd.ExecuteScalarAsync() ?? "";
    }
}
