namespace Tasks.Core.Monitoring;

/// <summary>
/// The snapshots of one step of a series added up (<see cref="MonitorQueries.SeriesAsync"/>): counters summed,
/// percentiles taken again from the summed histograms, gauges as the step's last snapshot saw them.
/// </summary>
public sealed record SeriesPoint(
    DateTimeOffset At, int Snapshots, int WorkersOnline, int WorkersOffline, int WorkersStopped,
    long Started, long Succeeded, long Failed, long Retried, long OutboxPending, double? OutboxOldestSeconds, long Scheduled,
    Dictionary<string, long> States, Dictionary<string, NameFigures> Names, Dictionary<string, QueueFigures> Queues);
