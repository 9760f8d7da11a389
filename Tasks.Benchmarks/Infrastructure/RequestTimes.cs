using System.Diagnostics;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>One request's time at p50 and p95, requests sent one at a time after five warm-ups (scenarios 7 and 12).</summary>
public static class RequestTimes
{
    public static async Task AddAsync(ScenarioResult result, string label, int requests, Func<Task> request)
    {
        for (var i = 0; i < 5; i++) await request();
        var times = new List<double>(requests);
        for (var i = 0; i < requests; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await request();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        result.Figures.Add(Figure.One(label + ": p50", "ms", Stats.Percentile(times, 50)));
        result.Figures.Add(Figure.One(label + ": p95", "ms", Stats.Percentile(times, 95)));
        BenchContext.Log($"{label}: p50 {Stats.Percentile(times, 50):0.0} ms, p95 {Stats.Percentile(times, 95):0.0} ms");
    }
}
