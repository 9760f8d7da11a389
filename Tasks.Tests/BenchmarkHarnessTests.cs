using System.Diagnostics;
using System.Text.Json.Nodes;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The benchmark harness (<c>./dev bench --quick</c>) measures every scenario against real servers and writes
/// bench-results.json. What it measured is not asserted (timings belong in BENCHMARKS.md, never in a test): only
/// that every scenario ran and reported its figures as the median, min and max of its runs, with the machine and
/// the ratios at the top. Run alone, after the other tests: it loads the whole box. Its PostgreSQL is one of its
/// own with durability on, as <c>./dev bench</c>'s (the run's shared server has it off), so the settings it must
/// record are the durable ones.
/// </summary>
[Collection(nameof(BenchmarkHarness))]
public sealed class BenchmarkHarnessTests
{
    [Fact]
    public async Task A_quick_run_measures_every_scenario_and_writes_each_figure_with_the_machine_and_the_ratios()
    {
        var shared = await Servers.GetAsync();
        await using var postgres = await PrivatePostgres.StartNewAsync(durable: true, maxConnections: 300);
        var servers = new Servers(postgres.ConnectionString(), shared.Rabbit, shared.Management);
        var output = Path.Combine(Path.GetTempPath(), $"bench-results-{Guid.NewGuid():N}.json");
        var root = HostProcess.RepositoryRoot();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        // Release, like the hosts the harness starts (./dev test builds the whole solution in Release).
        var harness = Path.Combine(root, "Tasks.Benchmarks", "bin", "Release", "net10.0", "Tasks.Benchmarks.dll");
        Assert.True(File.Exists(harness), $"{harness} is not built: dotnet build Tasks.sln -c Release");
        foreach (var arg in new[] { harness, "--quick", "--out", output })
            start.ArgumentList.Add(arg);
        start.Environment["TASKS_TEST_POSTGRES"] = servers.Postgres;
        start.Environment["TASKS_TEST_RABBITMQ"] = servers.Rabbit.ToString();
        start.Environment["TASKS_TEST_RABBITMQ_MANAGEMENT"] = servers.Management.ToString();
        try
        {
            using var bench = Process.Start(start)!;
            var (stdout, stderr) = (bench.StandardOutput.ReadToEndAsync(), bench.StandardError.ReadToEndAsync());
            var exited = false;
            try
            {
                await bench.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(6), TestContext.Current.CancellationToken);
                exited = true;
            }
            catch (TimeoutException)
            {
                // Reported below, with what it printed.
            }
            finally
            {
                if (!bench.HasExited) bench.Kill(entireProcessTree: true); // timed out or canceled: nothing of it left running
            }
            Assert.True(exited && bench.ExitCode == 0,
                $"the harness {(exited ? $"exited with {bench.ExitCode}" : "ran past 6 minutes")}:\n{await stdout}\n{await stderr}");

            var results = JsonNode.Parse(await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken))!;
            Assert.Equal("quick", (string?)results["mode"]);
            Assert.Equal(Environment.ProcessorCount, (int)results["machine"]!["cores"]!);
            foreach (var version in new[] { "dotnet", "postgres", "rabbitmq", "massTransit", "hangfire" })
                Assert.False(string.IsNullOrEmpty((string?)results["machine"]![version]), version);
            foreach (var ratio in new[] { "e2eToBusRatio", "e2eToBrokerRatio", "e2eOneMessagePerTaskToBusRatioPaired", "e2eToHangfireRatio", "e2eToCeleryRatio" })
                Assert.True((double?)results[ratio] > 0, ratio);
            // The server's settings, as it reported them: durable, and said so.
            Assert.True((bool?)results["postgres"]!["durable"], results["postgres"]!.ToJsonString());
            foreach (var setting in new[] { "fsync", "synchronous_commit", "full_page_writes" })
                Assert.Equal("on", (string?)results["postgres"]!["settings"]![setting]);
            foreach (var setting in new[] { "wal_level", "shared_buffers", "commit_delay", "commit_siblings", "max_connections" })
                Assert.False(string.IsNullOrEmpty((string?)results["postgres"]!["settings"]![setting]), setting);
            Assert.Equal("300", (string?)results["postgres"]!["settings"]!["max_connections"]);
            Assert.Contains(", durable (", await stdout, StringComparison.Ordinal); // the machine line
            Assert.Contains("fsync on", await stdout, StringComparison.Ordinal);
            // Every target is judged from this run's figures.
            var targets = results["targets"]!.AsArray();
            Assert.Equal(8, targets.Count);
            foreach (var t in targets) Assert.NotNull((bool?)t!["met"]);

            var scenarios = results["scenarios"]!.AsObject();
            Assert.Equal(
                ["beat", "broker", "bus", "camera", "celery", "dashboard", "endToEnd", "endToEndOneMessagePerTask", "hangfire", "heartbeat", "http", "latency", "memory", "query", "scaleOut"],
                scenarios.Select(s => s.Key).Order(StringComparer.Ordinal));
            foreach (var (key, scenario) in scenarios)
            {
                Assert.Null(scenario!["error"]);
                var figures = scenario["figures"]!.AsObject();
                Assert.NotEmpty(figures);
                foreach (var (name, f) in figures)
                {
                    var (median, min, max) = ((double?)f!["median"], (double?)f["min"], (double?)f["max"]);
                    Assert.True(min <= median && median <= max, $"{key}: {name}: median {median}, min {min}, max {max}");
                    Assert.False(string.IsNullOrEmpty((string?)f["unit"]), $"{key}: {name}");
                }
            }
            // What the targets are read from.
            Assert.True((double)scenarios["endToEnd"]!["figures"]!["throughput"]!["median"]! > 0);
            Assert.True((double)scenarios["http"]!["figures"]!["batch of 100: accepted"]!["median"]! > 0);
            Assert.True((double)scenarios["latency"]!["figures"]!["enqueue→start p99"]!["median"]! > 0);
            // One message per task, each run against the bus measured right before it.
            var single = scenarios["endToEndOneMessagePerTask"]!["figures"]!;
            Assert.True((double)single["bus ceiling right before each run (paired)"]!["median"]! > 0);
            Assert.True((double)single["ratio to the bus ceiling right before it (paired)"]!["median"]! > 0);
            // Every dashboard page was fetched signed in (a redirect to /login fails the scenario), each with its p95.
            var pages = scenarios["dashboard"]!["figures"]!.AsObject().Select(f => f.Key).Where(k => k.EndsWith(": p95", StringComparison.Ordinal)).ToList();
            Assert.Equal(8, pages.Count);
            Assert.Contains("Failed /failed: p95", pages);
        }
        finally
        {
            File.Delete(output);
        }
    }
}

[CollectionDefinition(nameof(BenchmarkHarness), DisableParallelization = true)]
public sealed class BenchmarkHarness;
