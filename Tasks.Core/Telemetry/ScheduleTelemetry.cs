using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Tasks.Core.Telemetry;

/// <summary>
/// The beat's instruments, on the <see cref="TasksTelemetry.Name"/> meter, by <c>schedule</c>: fires, misfires, and
/// the lag from a fire's scheduled time to its task's commit (Prometheus: <c>tasks_schedule_fires_total</c>, ...).
/// </summary>
public sealed class ScheduleTelemetry
{
    private readonly Counter<long> _fires, _misfires;
    private readonly Histogram<double> _lag;

    public ScheduleTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(TasksTelemetry.Name);
        _fires = meter.CreateCounter<long>("tasks.schedule.fires", description: "Schedule fires whose task was committed.");
        _misfires = meter.CreateCounter<long>("tasks.schedule.misfires",
            description: "Fires missed by more than Beat:MisfireThresholdSeconds (every scheduler down, or too busy), handled by the schedule's misfire policy.");
        _lag = meter.CreateHistogram<double>("tasks.schedule.fire_lag", unit: "s", description: "From a fire's scheduled time to its task committed.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
    }

    public void Fired(string schedule, TimeSpan lag)
    {
        var tags = new TagList { { "schedule", schedule } };
        _fires.Add(1, tags);
        _lag.Record(Math.Max(0, lag.TotalSeconds), tags);
    }

    public void Misfired(string schedule) => _misfires.Add(1, new KeyValuePair<string, object?>("schedule", schedule));
}
