using Tasks.Core.Entities;
using Tasks.Core.Monitoring;

namespace Tasks.Web.Apis;

/// <summary>A task name's figures for an interval or a step, as the API shows them (docs/api.md, "Monitoring").</summary>
public sealed record NameResource(
    long Started, long Succeeded, long Failed, long Retried, double? RunP50Ms, double? RunP95Ms, double? RunP99Ms, double? WaitP50Ms, double? WaitP95Ms)
{
    public static Dictionary<string, NameResource> From(Dictionary<string, NameFigures> names) =>
        names.OrderBy(n => n.Key, StringComparer.Ordinal).ToDictionary(n => n.Key, n => new NameResource(
            n.Value.Started, n.Value.Succeeded, n.Value.Failed, n.Value.Retried,
            n.Value.RunP50, n.Value.RunP95, n.Value.RunP99, n.Value.WaitP50, n.Value.WaitP95), StringComparer.Ordinal);
}

public sealed record WorkerCounts(int Online, int Offline, int Stopped, List<WorkerFigures>? Items = null);

public sealed record TaskCounts(Dictionary<string, long> States, long Started, long Succeeded, long Failed, long Retried);

public sealed record OutboxResource(long Pending, double? OldestSeconds);

/// <summary><c>GET /api/v1/stats</c>: the latest snapshot.</summary>
public sealed record StatsResource(
    DateTimeOffset At, double IntervalSeconds, double DurationMs, WorkerCounts Workers, TaskCounts Tasks,
    Dictionary<string, NameResource> Names, Dictionary<string, QueueFigures> Queues, OutboxResource Outbox, long Scheduled)
{
    public static StatsResource From(MonitorSnapshot s) => new(
        s.At, s.IntervalSeconds, s.DurationMs,
        new WorkerCounts(s.WorkersOnline, s.WorkersOffline, s.WorkersStopped, MonitorJson.Read<List<WorkerFigures>>(s.Workers)),
        new TaskCounts(MonitorJson.Read<Dictionary<string, long>>(s.States), s.Started, s.Succeeded, s.Failed, s.Retried),
        NameResource.From(MonitorJson.Read<Dictionary<string, NameFigures>>(s.Names)),
        MonitorJson.Read<Dictionary<string, QueueFigures>>(s.Queues),
        new OutboxResource(s.OutboxPending, s.OutboxOldestSeconds), s.Scheduled);
}

/// <summary>One point of <c>GET /api/v1/snapshots</c>.</summary>
public sealed record SeriesPointResource(
    DateTimeOffset At, int Snapshots, WorkerCounts Workers, TaskCounts Tasks,
    Dictionary<string, NameResource> Names, Dictionary<string, QueueFigures> Queues, OutboxResource Outbox, long Scheduled)
{
    public static SeriesPointResource From(SeriesPoint p) => new(
        p.At, p.Snapshots, new WorkerCounts(p.WorkersOnline, p.WorkersOffline, p.WorkersStopped),
        new TaskCounts(p.States, p.Started, p.Succeeded, p.Failed, p.Retried), NameResource.From(p.Names), p.Queues,
        new OutboxResource(p.OutboxPending, p.OutboxOldestSeconds), p.Scheduled);
}

public sealed record SeriesResource(DateTimeOffset From, DateTimeOffset To, int StepSeconds, List<SeriesPointResource> Items);

public sealed record QueueResource(string Name, long? Depth, int? Consumers, double? PublishRate, double? DeliverRate, bool Paused, long? Unacked);

public sealed record QueueList(DateTimeOffset? At, List<QueueResource> Items);

public sealed record AlertResource(long Id, string Kind, string Subject, bool Active, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string Detail)
{
    public static AlertResource From(MonitorAlert a) => new(a.Id, a.Kind, a.Subject, a.EndedAt is null, a.StartedAt, a.EndedAt, a.Detail);
}

public sealed record AlertList(List<AlertResource> Items);
