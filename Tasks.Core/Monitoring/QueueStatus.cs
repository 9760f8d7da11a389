namespace Tasks.Core.Monitoring;

/// <summary>A queue as <see cref="MonitorQueries.QueuesAsync"/> reports it.</summary>
public sealed record QueueStatus(string Name, long? Depth, int? Consumers, double? PublishRate, double? DeliverRate, bool Paused, long? Unacked)
{
    /// <summary>Messages waiting and nobody to take them (MassTransit's dead-letter queues are meant to wait).</summary>
    public bool Unconsumed => Depth > 0 && Consumers == 0 && !Name.EndsWith("_error", StringComparison.Ordinal) && !Name.EndsWith("_skipped", StringComparison.Ordinal);
}
