namespace Tasks.Core.Monitoring;

/// <summary>One queue a worker consumes, as its heartbeat reports it (<see cref="Entities.WorkerRecord.Queues"/>).</summary>
public sealed record WorkerQueue(string Name, int Concurrency, int Prefetch, bool Paused);
