using System.Diagnostics.Metrics;

namespace Tasks.Core.Telemetry;

/// <summary>
/// What each instrument has recorded since the last flush, turned into StatsD lines at the flush: counters
/// summed, totals and gauges as their level, histograms value by value. Which kind goes how, and why:
/// docs/design.md#statsd-how-each-instrument-is-sent.
/// </summary>
internal sealed class StatsDAggregator
{
    // A busy histogram between two flushes must not grow memory without bound; past this, values are dropped.
    public const int MaxPendingValues = 100_000;

    private readonly StatsDOptions _options;
    private readonly Func<double> _sample;
    private readonly string _rateSuffix;

    private readonly Lock _gate = new();
    private readonly Dictionary<(Instrument, string), Series> _series = [];
    private List<PendingValue> _pending = [];
    private int _dropped;

    /// <param name="sample">Uniform in [0, 1); a histogram value is kept when it returns less than the rate.</param>
    public StatsDAggregator(StatsDOptions options, Func<double> sample)
    {
        _options = options;
        _sample = sample;
        _rateSuffix = options.SampleRate < 1 ? "|@" + StatsDLines.Format(options.SampleRate) : "";
    }

    /// <summary>How an instrument is sent (the listener's per-instrument state), or null when StatsD has no kind for it.</summary>
    public object? Describe(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        Kind? kind =
            definition == typeof(Counter<>) ? Kind.Counter
            : definition == typeof(ObservableCounter<>) ? Kind.CumulativeCounter
            : definition == typeof(UpDownCounter<>) ? Kind.Total
            : definition == typeof(Gauge<>) || definition == typeof(ObservableGauge<>) || definition == typeof(ObservableUpDownCounter<>) ? Kind.Gauge
            : definition == typeof(Histogram<>) ? Kind.Histogram
            : null;
        if (kind is null) return null;

        var name = StatsDLines.Sanitize(instrument.Name);
        if (!string.IsNullOrEmpty(_options.Prefix)) name = _options.Prefix + "." + name;
        var (scale, histogramType) = kind != Kind.Histogram ? (1.0, "")
            : instrument.Unit switch { "s" => (1000.0, "ms"), "ms" => (1.0, "ms"), _ => (1.0, "h") };
        return new InstrumentInfo(name, kind.Value, scale, histogramType);
    }

    // Called on whatever thread records the measurement, so it locks and must never throw.
    public void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (state is not InstrumentInfo info || !double.IsFinite(value)) return;
        if (info.Kind == Kind.Histogram && _rateSuffix.Length > 0 && _sample() >= _options.SampleRate) return;
        var tagSuffix = StatsDLines.FormatTags(tags);
        lock (_gate)
        {
            if (info.Kind == Kind.Histogram)
            {
                if (_pending.Count < MaxPendingValues) _pending.Add(new PendingValue(info, tagSuffix, value * info.Scale));
                else _dropped++;
                return;
            }
            if (!_series.TryGetValue((instrument, tagSuffix), out var series))
                _series.Add((instrument, tagSuffix), series = new Series(info, tagSuffix));
            series.Value = info.Kind is Kind.Counter or Kind.Total ? series.Value + value : value;
            series.Touched = true;
        }
    }

    /// <summary>The lines for everything recorded since the last call.</summary>
    public List<string> Collect()
    {
        var lines = new List<string>();
        List<PendingValue> pending;
        lock (_gate)
        {
            foreach (var series in _series.Values)
                if (series.Touched && Line(series) is { } line) lines.Add(line);
            pending = _pending;
            _pending = [];
        }
        foreach (var value in pending)
            lines.Add($"{value.Info.Name}:{StatsDLines.Format(value.Value)}|{value.Info.Type}{_rateSuffix}{value.Tags}");
        return lines;
    }

    /// <summary>Histogram values dropped since the last call (over <see cref="MaxPendingValues"/>).</summary>
    public int TakeDropped()
    {
        lock (_gate)
        {
            var dropped = _dropped;
            _dropped = 0;
            return dropped;
        }
    }

    private static string? Line(Series series)
    {
        series.Touched = false;
        var info = series.Info;
        switch (info.Kind)
        {
            case Kind.Counter:
                var sum = series.Value;
                series.Value = 0;
                return sum != 0 ? $"{info.Name}:{StatsDLines.Format(sum)}|c{series.Tags}" : null;
            case Kind.CumulativeCounter:
                // A total that went down means its source restarted: the whole new total is the change.
                var delta = series.Value >= series.Previous ? series.Value - series.Previous : series.Value;
                series.Previous = series.Value;
                return delta != 0 ? $"{info.Name}:{StatsDLines.Format(delta)}|c{series.Tags}" : null;
            default:
                return StatsDLines.Gauge(info.Name, series.Value, series.Tags);
        }
    }

    private enum Kind { Counter, CumulativeCounter, Total, Gauge, Histogram }

    private sealed record InstrumentInfo(string Name, Kind Kind, double Scale, string Type);

    private readonly record struct PendingValue(InstrumentInfo Info, string Tags, double Value);

    private sealed class Series(InstrumentInfo info, string tags)
    {
        public InstrumentInfo Info { get; } = info;
        public string Tags { get; } = tags;
        public double Value { get; set; }
        public double Previous { get; set; }
        public bool Touched { get; set; }
    }
}
