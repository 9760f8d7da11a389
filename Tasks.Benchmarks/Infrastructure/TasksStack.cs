using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tasks.Core.Enqueueing;
using Tasks.Core.Hosting;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>
/// Our pipeline as users run it: a migrated database, worker processes (<c>dotnet Tasks.Worker.dll</c>), and this
/// process enqueueing through <see cref="TaskEnqueuer"/> (row, commit, publish, mark queued) like the API does.
/// </summary>
public sealed class TasksStack : IAsyncDisposable
{
    private static readonly JsonElement EchoArgs = JsonDocument.Parse("""{"message":"bench"}""").RootElement.Clone();
    private readonly IHost _enqueuerHost;
    private readonly List<HostProcess> _workers = [];

    private readonly IReadOnlyDictionary<string, string> _workerEnvironment;

    private TasksStack(Isolated isolated, IHost enqueuerHost, IReadOnlyDictionary<string, string> workerEnvironment)
    {
        Isolated = isolated;
        _enqueuerHost = enqueuerHost;
        _workerEnvironment = workerEnvironment;
    }

    public Isolated Isolated { get; }
    public IReadOnlyList<HostProcess> Workers => _workers;

    /// <summary>
    /// What docker-compose.yml (and the README's configuration table) set for a worker beyond its connections:
    /// the hosts run here as they are deployed. <c>--worker-env</c> adds to it or overrides it.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> DeployedWorker = new Dictionary<string, string> { ["DOTNET_GCgen0size"] = "0x600000" };

    private Dictionary<string, string> Deployed =>
        DeployedWorker.Concat(_workerEnvironment).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    public Dictionary<string, string> HostEnvironment(int port)
    {
        var env = new Dictionary<string, string>(Deployed);
        foreach (var (k, v) in Testing.HostEnvironment.For(Isolated.Postgres, Isolated.Rabbit, port)) env[k] = v;
        return env;
    }

    public static async Task<TasksStack> StartAsync(Isolated isolated, IReadOnlyDictionary<string, string> workerEnvironment)
    {
        await HostProcess.RunToEndAsync("Tasks.Web", new Dictionary<string, string>
        {
            ["ConnectionStrings__Tasks"] = isolated.Postgres,
            ["ConnectionStrings__RabbitMq"] = isolated.Rabbit.ToString(),
        }, "migrate");

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            ApplicationName = "Tasks.Benchmarks", EnvironmentName = "Production", DisableDefaults = true,
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Tasks"] = isolated.Postgres,
            ["ConnectionStrings:RabbitMq"] = isolated.Rabbit.ToString(),
        });
        builder.Logging.AddConsole().SetMinimumLevel(LogLevel.Warning);
        builder.AddTasksCore();
        var host = builder.Build();
        await host.StartAsync();
        return new TasksStack(isolated, host, workerEnvironment);
    }

    /// <summary>Starts <paramref name="count"/> more worker processes and waits until they consume.</summary>
    public async Task StartWorkersAsync(int count, params string[] args)
    {
        var started = new List<HostProcess>();
        for (var i = 0; i < count; i++)
        {
            var port = HostProcess.FreePort();
            started.Add(HostProcess.Start("Tasks.Worker", port, HostEnvironment(port), args));
        }
        _workers.AddRange(started);
        foreach (var w in started) await w.WaitReadyAsync(TimeSpan.FromSeconds(60));
    }

    public async Task StopWorkersAsync()
    {
        foreach (var w in _workers) await w.DisposeAsync();
        _workers.Clear();
    }

    /// <summary>
    /// Where a run starts: the database's clock (a run's rows are those enqueued from then on) and how many tasks had
    /// finished before it. Rows of earlier runs stay, as a production table keeps its history: a table emptied
    /// before every run would measure the statements as they run on a table of a few thousand rows.
    /// </summary>
    internal async Task<(DateTimeOffset Since, long FinishedBefore)> MarkRunAsync()
    {
        await using var conn = new NpgsqlConnection(Isolated.Postgres);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            """
            SELECT clock_timestamp(),
                   (SELECT coalesce(sum(n), 0)::bigint FROM task_state_counts WHERE state IN ('succeeded', 'failed', 'canceled', 'expired'))
            """, conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return (reader.GetFieldValue<DateTimeOffset>(0), reader.GetInt64(1));
    }

    /// <summary>
    /// Sets the enqueuer's <c>Tasks:MaxTasksPerMessage</c> (how many tasks of a batch share a broker message) for
    /// the enqueues that follow, as a reloaded configuration would.
    /// </summary>
    public void SetMaxTasksPerMessage(int max)
    {
        var configuration = (IConfigurationRoot)_enqueuerHost.Services.GetRequiredService<IConfiguration>();
        configuration["Tasks:MaxTasksPerMessage"] = max.ToString(System.Globalization.CultureInfo.InvariantCulture);
        configuration.Reload();
    }

    /// <summary>Enqueues <paramref name="count"/> demo.echo tasks in one call (one transaction, published in order).</summary>
    public async Task EnqueueAsync(int count, CancellationToken ct)
    {
        await using var scope = _enqueuerHost.Services.CreateAsyncScope();
        var enqueuer = scope.ServiceProvider.GetRequiredService<TaskEnqueuer>();
        var requests = new EnqueueRequest[count];
        for (var i = 0; i < count; i++) requests[i] = new EnqueueRequest("demo.echo", EchoArgs);
        var result = await enqueuer.EnqueueAsync(requests, "", ct);
        if (!result.IsValid) throw new InvalidOperationException(string.Join("; ", result.Errors.Select(e => $"{e.Key}: {string.Join(' ', e.Value)}")));
    }

    /// <summary>
    /// Enqueues <paramref name="total"/> tasks from <paramref name="callers"/> concurrent callers in batches of
    /// <paramref name="batch"/>, waits until all succeeded, and returns tasks/s from the first enqueue to the last
    /// <c>succeeded</c> row (the rows' own timestamps), plus the workers' peak resident memory.
    /// </summary>
    public async Task<Burst> BurstAsync(int total, int callers, int batch, TimeSpan timeout)
    {
        var (since, finishedBefore) = await MarkRunAsync();
        var walBefore = await WalActivity.ReadAsync(Isolated.Postgres);
        var cpuBefore = CpuTime.Now(_workers.Select(w => w.Pid));
        var left = total;
        var peak = 0.0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, _workers.Sum(w => w.ResidentMegabytes()));
                try { await Task.Delay(100, sampling.Token); } catch (OperationCanceledException) { break; }
            }
        });
        var enqueuers = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                var take = Math.Min(batch, Interlocked.Add(ref left, -batch) + batch);
                if (take <= 0) return;
                await EnqueueAsync(take, CancellationToken.None);
            }
        })).ToList();
        var enqueueClock = Stopwatch.StartNew();
        await Task.WhenAll(enqueuers);
        var enqueueSeconds = enqueueClock.Elapsed.TotalSeconds;
        await WaitFinishedAsync(finishedBefore + total, timeout);
        var cpu = CpuTime.PerTask(cpuBefore, CpuTime.Now(_workers.Select(w => w.Pid)), total);
        BenchContext.Log("  " + (await WalActivity.ReadAsync(Isolated.Postgres)).PerTask(walBefore, total));
        await sampling.CancelAsync();
        await sampler;

        await using var conn = new NpgsqlConnection(Isolated.Postgres);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            """
            SELECT count(*), extract(epoch FROM max(finished_at) - min(enqueued_at)),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at) * 1000)
            FROM tasks WHERE state = 'succeeded' AND enqueued_at >= $1
            """, conn);
        cmd.Parameters.Add(new() { Value = since });
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        var succeeded = reader.GetInt64(0);
        if (succeeded != total) throw new InvalidOperationException($"{succeeded} of {total} tasks succeeded.");
        return new Burst(total / (double)reader.GetDecimal(1), peak, reader.GetDouble(2), total / enqueueSeconds, cpu);
    }

    /// <param name="CpuPerTask">Microseconds of CPU per task, by process (see <see cref="CpuTime"/>).</param>
    public sealed record Burst(double TasksPerSecond, double PeakRssMb, double RunMs, double EnqueuedPerSecond, Dictionary<string, double> CpuPerTask);

    /// <summary>
    /// Waits until <paramref name="total"/> tasks have finished (since the stack started), polling the counts by state the product keeps
    /// (<c>task_state_counts</c>): a few rows, where counting the tasks themselves every 50 ms would load the very
    /// database being measured.
    /// </summary>
    internal async Task WaitFinishedAsync(long total, TimeSpan timeout)
    {
        await using var conn = new NpgsqlConnection(Isolated.Postgres);
        await conn.OpenAsync();
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await using var cmd = new NpgsqlCommand(
                """
                SELECT coalesce(sum(n) FILTER (WHERE state IN ('succeeded', 'failed', 'canceled', 'expired')), 0)::bigint,
                       coalesce(sum(n) FILTER (WHERE state IN ('failed', 'canceled', 'expired')), 0)::bigint
                FROM task_state_counts
                """, conn);
            await using var reader = await cmd.ExecuteReaderAsync();
            await reader.ReadAsync();
            var finished = reader.GetInt64(0);
            if (reader.GetInt64(1) > 0) throw new InvalidOperationException($"{reader.GetInt64(1)} tasks did not succeed.");
            if (finished >= total) return;
            if (deadline.Elapsed > timeout)
                throw new TimeoutException($"Only {finished} of {total} tasks finished within {timeout}. Worker output:\n{string.Join("\n---\n", _workers.Select(w => w.Tail()))}");
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopWorkersAsync();
        await _enqueuerHost.StopAsync();
        _enqueuerHost.Dispose();
    }
}
