namespace Tasks.Core.Entities;

/// <summary>
/// What the camera saw at the end of one interval (docs/design.md, "The camera"). <see cref="At"/> is the interval's
/// slot, the primary key: a second fire for the same slot stores nothing. Counters are the interval's, gauges the
/// moment's; the JSON parts are shaped by the records in <c>Tasks.Core.Monitoring</c>.
/// </summary>
public sealed class MonitorSnapshot
{
    public DateTimeOffset At { get; set; }

    /// <summary>Seconds since the previous snapshot (more than the setting when a snapshot was missed).</summary>
    public double IntervalSeconds { get; set; }

    /// <summary>How long the camera took to take it.</summary>
    public double DurationMs { get; set; }

    public int WorkersOnline { get; set; }
    public int WorkersOffline { get; set; }
    public int WorkersStopped { get; set; }
    public long Started { get; set; }
    public long Succeeded { get; set; }
    public long Failed { get; set; }
    public long Retried { get; set; }
    public long OutboxPending { get; set; }
    public double? OutboxOldestSeconds { get; set; }
    public long Scheduled { get; set; }

    /// <summary>JSON array of <see cref="Monitoring.WorkerFigures"/>.</summary>
    public required string Workers { get; set; }

    /// <summary>JSON object: state → count.</summary>
    public required string States { get; set; }

    /// <summary>JSON object: task name → <see cref="Monitoring.NameFigures"/>.</summary>
    public required string Names { get; set; }

    /// <summary>JSON object: queue → <see cref="Monitoring.QueueFigures"/>.</summary>
    public required string Queues { get; set; }

    /// <summary>JSON object: worker → <see cref="Monitoring.WorkerBaseline"/>, what the next snapshot subtracts.</summary>
    public required string Baseline { get; set; }
}
