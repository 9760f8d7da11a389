namespace Tasks.Core.Monitoring;

/// <summary>One RabbitMQ queue in a snapshot (<see cref="Entities.MonitorSnapshot.Queues"/>): messages ready, consumers, rates per second.</summary>
public sealed record QueueFigures(long Depth, int Consumers, double PublishRate, double DeliverRate);
