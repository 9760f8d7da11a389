using System.ComponentModel.DataAnnotations;

namespace Tasks.Core.Monitoring;

/// <summary>The camera: snapshots and alerts taken by the scheduler hosts (section <c>Monitor</c>; docs/configuration.md).</summary>
public sealed class MonitorOptions
{
    public const string Section = "Monitor";

    /// <summary>One snapshot per this many seconds, however many schedulers run.</summary>
    [Range(1, 3600)]
    public int SnapshotSeconds { get; set; } = 10;

    /// <summary>Snapshots and ended alerts older than this are deleted, and so are workers offline or stopped as long.</summary>
    [Range(1, 3650)]
    public int RetentionDays { get; set; } = 14;

    /// <summary>A task name whose attempts in one interval failed more often than this raises an alert.</summary>
    [Range(0.0, 1.0)]
    public double FailureRateThreshold { get; set; } = 0.2;

    /// <summary>Attempts a task name needs in the interval before its failure rate counts.</summary>
    [Range(1, 1_000_000)]
    public int FailureRateMinRuns { get; set; } = 20;

    /// <summary>An outbox whose oldest pending task is older than this raises an alert.</summary>
    [Range(1, 86400)]
    public int OutboxAlertSeconds { get; set; } = 60;
}
