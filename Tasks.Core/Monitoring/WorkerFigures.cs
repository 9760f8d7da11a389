namespace Tasks.Core.Monitoring;

/// <summary>One worker in a snapshot (<see cref="Entities.MonitorSnapshot.Workers"/>): its state and counters since it started.</summary>
public sealed record WorkerFigures(
    string Name, string State, int Running, long Processed, long Succeeded, long Failed, long Retried,
    DateTimeOffset StartedAt, DateTimeOffset HeartbeatAt);
