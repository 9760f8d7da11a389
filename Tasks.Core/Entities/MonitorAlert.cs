namespace Tasks.Core.Entities;

/// <summary>
/// A condition the camera raised (<see cref="Monitoring.AlertKinds"/>) and, once it no longer holds, ended. At most
/// one open alert per kind and subject.
/// </summary>
public sealed class MonitorAlert
{
    public long Id { get; set; }
    public required string Kind { get; set; }

    /// <summary>What it is about: a queue, a worker, a task name or id, <c>outbox</c>.</summary>
    public required string Subject { get; set; }

    public DateTimeOffset StartedAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public required string Detail { get; set; }
}
