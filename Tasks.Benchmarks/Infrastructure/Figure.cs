namespace Tasks.Benchmarks.Infrastructure;

/// <summary>One measured figure: the median over its runs, with the smallest and largest run.</summary>
public sealed record Figure(string Metric, string Unit, double Median, double Min, double Max, int Runs)
{
    public static Figure Of(string metric, string unit, IReadOnlyList<double> runs) =>
        new(metric, unit, Stats.Median(runs), runs.Count == 0 ? double.NaN : runs.Min(), runs.Count == 0 ? double.NaN : runs.Max(), runs.Count);

    public static Figure One(string metric, string unit, double value) => new(metric, unit, value, value, value, 1);
}

/// <summary>What one scenario reports: its figures, and notes on how they were taken.</summary>
public sealed class ScenarioResult(string key, string title)
{
    public string Key { get; } = key;
    public string Title { get; } = title;
    public List<Figure> Figures { get; } = [];
    public Dictionary<string, object> Settings { get; } = [];
    public string? Error { get; set; }

    public Figure? Find(string metric) => Figures.FirstOrDefault(f => f.Metric == metric);
}
