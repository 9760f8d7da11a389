using Tasks.Benchmarks.Infrastructure;

namespace Tasks.Benchmarks;

/// <summary>What every scenario gets: the servers, the sizes, and the results so far (latency needs the end-to-end maximum).</summary>
public sealed class BenchContext(Servers servers, BenchSettings settings)
{
    public Servers Servers { get; } = servers;
    public BenchSettings Settings { get; } = settings;
    public List<ScenarioResult> Results { get; } = [];

    public static void Log(string message) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {message}");
}
