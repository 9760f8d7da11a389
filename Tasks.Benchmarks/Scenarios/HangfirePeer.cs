using System.Diagnostics;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Npgsql;
using Tasks.Benchmarks.Infrastructure;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 8. The peer on the same box and the same PostgreSQL: Hangfire 1.8 with Hangfire.PostgreSql, one server with
/// our worker's concurrency, the same no-op job, enqueued from concurrent callers. Jobs/s from the first enqueue
/// to the last <c>Succeeded</c> state row.
/// </summary>
public static class HangfirePeer
{
    private const int Callers = 4;

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var result = new ScenarioResult("hangfire", "8. Peer: Hangfire 1.8 + Hangfire.PostgreSql");
        result.Settings["jobs"] = s.HangfireJobs;
        result.Settings["workerCount"] = BenchSettings.HangfireWorkers;
        result.Settings["version"] = Report.VersionOf(typeof(BackgroundJob));
        result.Settings["storageVersion"] = Report.VersionOf(typeof(PostgreSqlStorage));
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_hangfire");
        try
        {
            var options = new PostgreSqlStorageOptions
            {
                PrepareSchemaIfNecessary = true,
                // Its defaults poll the queue every 15 s; give it its best: LISTEN/NOTIFY and a short poll.
                EnableLongPolling = true,
                QueuePollInterval = TimeSpan.FromMilliseconds(50),
            };
            var storage = new PostgreSqlStorage(new NpgsqlConnectionFactory(iso.Postgres, options), options);
            var client = new BackgroundJobClient(storage);
            using var server = new BackgroundJobServer(
                new BackgroundJobServerOptions { WorkerCount = BenchSettings.HangfireWorkers, Queues = ["default"] }, storage);

            await OnceAsync(iso.Postgres, client, Math.Min(1_000, s.HangfireJobs)); // warm-up
            var runs = new List<double>();
            for (var i = 0; i < s.Runs; i++)
            {
                runs.Add(await OnceAsync(iso.Postgres, client, s.HangfireJobs));
                BenchContext.Log($"hangfire run {i + 1}: {runs[^1]:0} jobs/s");
            }
            result.Figures.Add(Figure.Of("throughput", "jobs/s", runs));
            server.SendStop();
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    private static async Task<double> OnceAsync(string postgres, BackgroundJobClient client, int count)
    {
        await using var conn = new NpgsqlConnection(postgres);
        await conn.OpenAsync();
        await using (var clear = new NpgsqlCommand("TRUNCATE hangfire.job CASCADE", conn)) await clear.ExecuteNonQueryAsync();

        var left = count;
        var first = DateTime.UtcNow;
        var callers = Enumerable.Range(0, Callers).Select(_ => Task.Run(() =>
        {
            while (Interlocked.Decrement(ref left) >= 0) client.Enqueue(() => NoopJob.Run());
        })).ToList();
        await Task.WhenAll(callers);

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM hangfire.job WHERE statename = 'Succeeded'", conn);
            var done = (long)(await cmd.ExecuteScalarAsync())!;
            if (done >= count) break;
            if (deadline.Elapsed > TimeSpan.FromMinutes(10)) throw new TimeoutException($"Hangfire finished {done} of {count} jobs.");
            await Task.Delay(50);
        }
        await using var last = new NpgsqlCommand("SELECT max(createdat) FROM hangfire.state WHERE name = 'Succeeded'", conn);
        var lastSucceeded = (DateTime)(await last.ExecuteScalarAsync())!;
        return count / (DateTime.SpecifyKind(lastSucceeded, DateTimeKind.Utc) - first).TotalSeconds;
    }
}

/// <summary>The peer's no-op job.</summary>
public static class NoopJob
{
    public static void Run()
    {
    }
}
