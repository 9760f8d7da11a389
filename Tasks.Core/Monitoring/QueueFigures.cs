namespace Tasks.Core.Monitoring;

/// <summary>
/// One RabbitMQ queue in a snapshot (<see cref="Entities.MonitorSnapshot.Queues"/>): messages ready, consumers, rates
/// per second, and messages delivered but not yet acknowledged (0 in snapshots taken before it was recorded).
/// </summary>
public sealed record QueueFigures(long Depth, int Consumers, double PublishRate, double DeliverRate, long Unacked = 0);
