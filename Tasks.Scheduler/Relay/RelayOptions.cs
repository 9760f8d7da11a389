using System.ComponentModel.DataAnnotations;

namespace Tasks.Scheduler.Relay;

/// <summary>The outbox relay (section <c>Relay</c>).</summary>
public sealed class RelayOptions
{
    public const string Section = "Relay";

    /// <summary>How often due and orphaned tasks are looked for. A delayed task starts within about this much of its time.</summary>
    [Range(10, 60000)]
    public int PollMilliseconds { get; set; } = 250;

    /// <summary>A <c>pending</c> task older than this is taken to have lost its publisher (process died) and is published here.</summary>
    [Range(1, 3600)]
    public int PendingGraceSeconds { get; set; } = 5;

    [Range(1, 10000)]
    public int BatchSize { get; set; } = 500;
}
