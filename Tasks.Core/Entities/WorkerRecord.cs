namespace Tasks.Core.Entities;

/// <summary>
/// A worker process as its last heartbeat described it: written by the worker (<c>Worker:HeartbeatSeconds</c>), read
/// by the API and the camera. Counters run since <see cref="StartedAt"/>; a restart under the same name starts them
/// again, which is how the camera tells a restart from a slow interval.
/// </summary>
public sealed class WorkerRecord
{
    /// <summary><c>Worker:Name</c>, default <c>worker@host:pid</c>.</summary>
    public required string Name { get; set; }
    public required string Host { get; set; }
    public int Pid { get; set; }
    public required string Version { get; set; }

    /// <summary>JSON array of <see cref="Monitoring.WorkerQueue"/>: what it consumes and how.</summary>
    public required string Queues { get; set; }

    /// <summary>The tasks it runs now.</summary>
    public Guid[] Running { get; set; } = [];

    public long Processed { get; set; }
    public long Succeeded { get; set; }
    public long Failed { get; set; }
    public long Retried { get; set; }

    /// <summary>JSON object: task name → <see cref="Monitoring.TaskNameStats"/>, counted since <see cref="StartedAt"/>.</summary>
    public required string Stats { get; set; }

    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset HeartbeatAt { get; set; }

    /// <summary>The interval it promised: three missed ones and it is offline.</summary>
    public int HeartbeatSeconds { get; set; }

    /// <summary>Set when it stopped cleanly (SIGTERM, a shutdown command).</summary>
    public DateTimeOffset? StoppedAt { get; set; }
}
