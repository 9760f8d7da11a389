using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Tasks.Benchmarks.Infrastructure;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 8. The other peer: Celery 5 (Debian's <c>python3-celery</c>) on the same RabbitMQ (a vhost of its own) and the
/// same PostgreSQL (a database of its own) as its result backend, through SQLAlchemy, so each task's outcome is
/// stored as ours is. A no-op task, the prefork pool with one process per core, <c>acks_late</c>, tasks sent by as
/// many producer processes as scenario 3 has callers. Tasks/s from the first send to the last stored result. The
/// Python side is <c>Peers/celery/bench_celery.py</c>.
/// </summary>
public static class CeleryPeer
{
    private const int Producers = 16;

    /// <summary>Debian's, where <c>apt-get</c> puts <c>python3-celery</c> (a <c>python3</c> earlier on the PATH may be another).</summary>
    private const string Python = "/usr/bin/python3";

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var result = new ScenarioResult("celery", "8. Peer: Celery 5 (prefork, acks_late, PostgreSQL result backend)");
        var concurrency = Environment.ProcessorCount;
        result.Settings["tasks"] = s.HangfireJobs;
        result.Settings["producers"] = Producers;
        result.Settings["concurrency"] = concurrency;
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_celery");
        var dir = Path.Combine(HostProcess.RepositoryRoot(), "Tasks.Benchmarks", "Peers", "celery");
        var pg = new NpgsqlConnectionStringBuilder(iso.Postgres);
        var env = new Dictionary<string, string>
        {
            ["BENCH_CELERY_BROKER"] = iso.Rabbit.ToString(),
            ["BENCH_CELERY_BACKEND"] = $"db+postgresql://{Uri.EscapeDataString(pg.Username ?? "postgres")}"
                + (string.IsNullOrEmpty(pg.Password) ? "" : ":" + Uri.EscapeDataString(pg.Password))
                + $"@{pg.Host}:{pg.Port}/{pg.Database}",
            ["PYTHONDONTWRITEBYTECODE"] = "1", // no __pycache__ in the repository
        };
        var log = Path.Combine(Path.GetTempPath(), $"bench-celery-{Guid.NewGuid():N}.log");
        Process? worker = null;
        try
        {
            result.Settings["version"] = (await PythonAsync(dir, env, "-c", "import celery; print(celery.__version__)")).Trim();
            worker = Start(dir, env, log, "-m", "celery", "-A", "bench_celery", "worker", "--pool=prefork",
                $"--concurrency={concurrency}", "-Q", "bench", "--loglevel=WARNING", "--without-gossip", "--without-mingle");
            await RunOnceAsync(dir, env, Math.Min(1_000, s.HangfireJobs), worker, log); // warm-up, and the backend's table
            var runs = new List<double>();
            for (var i = 0; i < s.Runs; i++)
            {
                runs.Add(await RunOnceAsync(dir, env, s.HangfireJobs, worker, log));
                BenchContext.Log($"celery run {i + 1}: {runs[^1]:0} tasks/s");
            }
            result.Figures.Add(Figure.Of("throughput", "tasks/s", runs));
        }
        finally
        {
            if (worker is { HasExited: false })
            {
                worker.Kill(entireProcessTree: true); // the prefork children with it
                await worker.WaitForExitAsync();
            }
            worker?.Dispose();
            File.Delete(log);
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    private static async Task<double> RunOnceAsync(string dir, Dictionary<string, string> env, int tasks, Process worker, string log)
    {
        var run = PythonAsync(dir, env, "bench_celery.py", "run", tasks.ToString(CultureInfo.InvariantCulture), Producers.ToString(CultureInfo.InvariantCulture));
        // The run waits for every result: a worker that died (or never started) would leave it waiting.
        if (await Task.WhenAny(run, worker.WaitForExitAsync()) != run)
            throw new InvalidOperationException($"the Celery worker exited with {worker.ExitCode}:\n{await File.ReadAllTextAsync(log)}");
        var output = await run;
        using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        return doc.RootElement.GetProperty("tasksPerSecond").GetDouble();
    }

    private static ProcessStartInfo Info(string dir, Dictionary<string, string> env, string[] args)
    {
        var info = new ProcessStartInfo(Python) { WorkingDirectory = dir, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env) info.Environment[k] = v;
        return info;
    }

    /// <summary>The worker, its output to a file (a pipe nobody drains would block it).</summary>
    private static Process Start(string dir, Dictionary<string, string> env, string log, params string[] args)
    {
        var info = new ProcessStartInfo("/bin/sh") { WorkingDirectory = dir, UseShellExecute = false };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add("exec \"$0\" \"$@\" >\"$LOG\" 2>&1");
        info.ArgumentList.Add(Python);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in env) info.Environment[k] = v;
        info.Environment["LOG"] = log;
        info.Environment.Remove("NO_COLOR"); // Celery's CLI takes it for its --no-color flag, and refuses values such as "1"
        return Process.Start(info)!;
    }

    private static async Task<string> PythonAsync(string dir, Dictionary<string, string> env, params string[] args)
    {
        var info = Info(dir, env, args);
        info.RedirectStandardOutput = info.RedirectStandardError = true;
        using var process = Process.Start(info)!;
        var (stdout, stderr) = (process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(10));
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Python} {string.Join(' ', args)} exited with {process.ExitCode} "
                + "(./dev bench installs python3-celery, python3-sqlalchemy and python3-psycopg2):\n" + await stdout + await stderr);
        return await stdout;
    }
}
