using System.Globalization;
using System.Text.Json.Nodes;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>
/// The targets of issue 25, each read from this one run's medians (ratios within the run, so a quicker or slower
/// box moves both sides): met or not, written to bench-results.json and printed.
/// </summary>
public static class Targets
{
    private sealed record Target(string Name, string Scenario, string Metric, string Over, double Bound, bool AtMost = false);

    private static readonly Target[] All =
    [
        new("end-to-end ≥ 0.5 × broker ceiling", "endToEnd", "throughput", "broker", 0.5),
        new("one message per task ≥ 0.5 × bus ceiling", "endToEndOneMessagePerTask", "throughput", "bus", 0.5),
        // The same, each run against the bus measured right before it (the median of the pairs' ratios).
        new("one message per task ≥ 0.5 × bus ceiling, paired", "endToEndOneMessagePerTask", Scenarios.Pipeline.PairedRatio, "", 0.5),
        new("HTTP single ≥ 5,000 tasks/s", "http", "single: accepted", "", 5_000),
        new("HTTP batched ≥ 20,000 tasks/s", "http", "batch of 100: accepted", "", 20_000),
        new("enqueue→start p99 ≤ 15 ms at half load", "latency", "enqueue→start p99", "", 15, AtMost: true),
        new("end-to-end ≥ 10 × Celery", "endToEnd", "throughput", "celery", 10),
        new("end-to-end ≥ 30 × Hangfire", "endToEnd", "throughput", "hangfire", 30),
    ];

    /// <summary>Each target with its value (a ratio when it is measured against another scenario), or null when not measured.</summary>
    public static JsonArray Json(IReadOnlyList<ScenarioResult> results)
    {
        double? Median(string scenario, string metric) => results.FirstOrDefault(r => r.Key == scenario)?.Find(metric)?.Median;
        var list = new JsonArray();
        foreach (var t in All)
        {
            var value = Median(t.Scenario, t.Metric);
            if (t.Over != "") value = value / Median(t.Over, "throughput");
            if (value is { } v && (double.IsNaN(v) || double.IsInfinity(v))) value = null;
            list.Add(new JsonObject
            {
                ["target"] = t.Name,
                ["value"] = value is { } x ? Math.Round(x, 3) : null,
                ["bound"] = t.Bound,
                ["met"] = value is { } y ? (t.AtMost ? y <= t.Bound : y >= t.Bound) : null,
            });
        }
        return list;
    }

    public static string Lines(JsonArray targets) => string.Join('\n', targets.Select(t =>
    {
        var met = (bool?)t!["met"];
        var value = (double?)t["value"];
        return $"  {(met is null ? "not measured" : met.Value ? "met    " : "NOT MET")}  {t["target"]}: "
            + (value is { } v ? v.ToString("0.###", CultureInfo.InvariantCulture) : "-");
    }));
}
