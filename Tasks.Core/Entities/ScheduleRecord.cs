namespace Tasks.Core.Entities;

/// <summary>
/// A schedule: its checked definition, where it came from, whether it is paused, and the cadence (the shared Quartz
/// trigger) that fires it. Written by <see cref="Schedules.ScheduleStore"/> only (docs/design.md, "The beat").
/// </summary>
public sealed class ScheduleRecord
{
    public required string Name { get; set; }

    /// <summary><see cref="Schedules.ScheduleDefinition.ToJson"/>, as text: config reconciliation compares it as written.</summary>
    public required string Definition { get; set; }

    /// <summary><c>config</c> or <c>api</c>.</summary>
    public required string Source { get; set; }
    public bool Paused { get; set; }

    /// <summary>The Quartz job and trigger that fire it with every schedule of the same times (<see cref="Schedules.Cadences"/>).</summary>
    public required string Cadence { get; set; }

    /// <summary>When it joined its cadence (the database's clock): a fire for an earlier time doesn't enqueue it.</summary>
    public DateTimeOffset Since { get; set; }
}
