namespace Tasks.Cli.Api;

/// <summary><c>GET /queues</c>: the broker's figures from the latest snapshot (<see cref="At"/>), null for a queue it hasn't seen.</summary>
public sealed record QueueList(DateTimeOffset? At, List<QueueView> Items);

public sealed record QueueView(string Name, long? Depth, int? Consumers, double? PublishRate, double? DeliverRate, bool Paused);

/// <summary><c>GET /stats</c>: the latest snapshot, its counts over the interval before <see cref="At"/>.</summary>
public sealed record StatsView(
    DateTimeOffset At, double IntervalSeconds, double DurationMs, WorkerCountsView Workers, TaskCountsView Tasks,
    Dictionary<string, NameStatsView> Names, Dictionary<string, QueueStatsView> Queues, OutboxView Outbox, long Scheduled);

public sealed record WorkerCountsView(int Online, int Offline, int Stopped);

public sealed record TaskCountsView(Dictionary<string, long> States, long Started, long Succeeded, long Failed, long Retried);

public sealed record NameStatsView(
    long Started, long Succeeded, long Failed, long Retried, double? RunP50Ms, double? RunP95Ms, double? RunP99Ms, double? WaitP50Ms, double? WaitP95Ms);

public sealed record QueueStatsView(long Depth, int Consumers, double PublishRate, double DeliverRate);

public sealed record OutboxView(long Pending, double? OldestSeconds);
