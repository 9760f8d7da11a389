namespace Tasks.Cli.Api;

/// <summary><c>GET /workers</c>: the workers as their heartbeats describe them.</summary>
public sealed record WorkerList(List<WorkerView> Items);

/// <summary>A worker (<c>GET /workers/{name}</c>): <see cref="State"/> is <c>online</c>, <c>offline</c> or <c>stopped</c>.</summary>
public sealed record WorkerView(
    string Name, string Host, int Pid, string Version, string State, List<WorkerQueueView> Queues, List<Guid> Running,
    long Processed, long Succeeded, long Failed, long Retried, DateTimeOffset StartedAt, DateTimeOffset LastHeartbeat, DateTimeOffset? StoppedAt);

public sealed record WorkerQueueView(string Name, int Concurrency, int Prefetch, bool Paused);

/// <summary><c>POST /workers/ping</c>: the workers that answered, with their round trips.</summary>
public sealed record PingList(List<PingView> Items);

public sealed record PingView(string Name, double LatencyMs);

/// <summary>What a worker said it did for a shutdown, pause or resume, in its words (<see cref="Detail"/>).</summary>
public sealed record ControlResultView(string Name, string Command, string? Queue, string Detail, double LatencyMs);
