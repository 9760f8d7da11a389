using System.Globalization;

namespace Tasks.Benchmarks;

/// <summary>Sizes and repetitions of one benchmark run: <c>--quick</c> (under two minutes) or the full run.</summary>
public sealed record BenchSettings
{
    /// <summary>The worker's default <c>Worker:Concurrency</c>: the bus ceiling gets as many consumers.</summary>
    public const int WorkerConcurrency = 64;

    /// <summary>
    /// Hangfire's workers: 32, its better figure on this box (75–88 jobs/s on 7 Dec, against 43–52
    /// at 64 in the full run of 11:06: its workers poll and lock rows of one table, and more of them contend).
    /// </summary>
    public const int HangfireWorkers = 32;

    /// <summary>The worker's default prefetch (<c>Worker:Prefetch</c>), used for the bus ceiling too.</summary>
    public const int WorkerPrefetch = 4 * WorkerConcurrency;

    /// <summary>The worker's messages in flight per queue (MassTransit's <c>ConcurrentMessageLimit</c>), the bus ceiling's too.</summary>
    public const int WorkerMessageLimit = 2 * WorkerConcurrency;

    public bool Quick { get; init; }
    public int Runs { get; init; } = 3;
    public int BrokerMessages { get; init; } = 100_000;
    public int BusMessages { get; init; } = 30_000;
    public int EndToEndTasks { get; init; } = 10_000;
    public double HttpSeconds { get; init; } = 10;
    public int HttpConnections { get; init; } = 64;
    public int HttpBatchConnections { get; init; } = 8;
    public double LatencySeconds { get; init; } = 15;

    /// <summary>Scenario 5's rate (<c>--latency-rate N</c>) instead of half of scenario 3's median: to compare builds at one rate.</summary>
    public double? LatencyRate { get; init; }
    public int QueryRows { get; init; } = 1_000_000;
    public int QueryRequests { get; init; } = 200;
    public int HangfireJobs { get; init; } = 5_000;
    public HashSet<int> Only { get; init; } = [];

    /// <summary>Extra settings for the worker processes (<c>--worker-env Key=Value</c>), to try a change without a rebuild.</summary>
    public Dictionary<string, string> WorkerEnvironment { get; init; } = [];

    /// <summary>The same for the beat's scheduler processes (<c>--scheduler-env Key=Value</c>, scenario 9).</summary>
    public Dictionary<string, string> SchedulerEnvironment { get; init; } = [];
    public string Output { get; init; } = "bench-results.json";

    /// <summary>Server settings to try (<c>--postgres-set name=value</c>): <c>ALTER SYSTEM</c> and a reload before the run; recorded with the others.</summary>
    public Dictionary<string, string> PostgresSet { get; init; } = [];

    public bool IsSelected(int scenario) => Only.Count == 0 || Only.Contains(scenario);

    public static BenchSettings Parse(string[] args)
    {
        var settings = args.Contains("--quick")
            ? new BenchSettings
            {
                Quick = true, Runs = 1, BrokerMessages = 20_000, BusMessages = 5_000, EndToEndTasks = 3_000, HttpSeconds = 3,
                LatencySeconds = 5, QueryRows = 100_000, QueryRequests = 30, HangfireJobs = 400,
            }
            : new BenchSettings();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick":
                    break;
                case "--runs" when i + 1 < args.Length:
                    settings = settings with { Runs = int.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--only" when i + 1 < args.Length:
                    settings = settings with { Only = [.. args[++i].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))] };
                    break;
                case "--out" when i + 1 < args.Length:
                    settings = settings with { Output = args[++i] };
                    break;
                case "--worker-env" when i + 1 < args.Length && args[i + 1].Split('=', 2) is [var key, var value]:
                    settings.WorkerEnvironment[key] = value;
                    i++;
                    break;
                case "--scheduler-env" when i + 1 < args.Length && args[i + 1].Split('=', 2) is [var key, var value]:
                    settings.SchedulerEnvironment[key] = value;
                    i++;
                    break;
                case "--postgres-set" when i + 1 < args.Length && args[i + 1].Split('=', 2) is [var name, var setting]:
                    settings.PostgresSet[name] = setting;
                    i++;
                    break;
                case "--latency-rate" when i + 1 < args.Length:
                    settings = settings with { LatencyRate = double.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                case "--rows" when i + 1 < args.Length:
                    settings = settings with { QueryRows = int.Parse(args[++i], CultureInfo.InvariantCulture) };
                    break;
                default:
                    throw new ArgumentException(
                        $"Unknown argument '{args[i]}'. Usage: Tasks.Benchmarks [--quick] [--runs N] [--only 1,3,8] [--rows N] [--latency-rate N] [--worker-env Key=Value] [--scheduler-env Key=Value] [--postgres-set name=value] [--out bench-results.json]");
            }
        }
        return settings;
    }
}
