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

    /// <summary>
    /// A <c>queued</c> task not started this long after its publish is published again: its message may be gone (the
    /// queue purged or deleted, the message dead-lettered). A task that merely waits in a deep queue gets a second
    /// message, which the worker drops at its claim; keep it above the longest a task waits in its queue.
    /// </summary>
    [Range(1, 7 * 24 * 3600)]
    public int QueuedGraceSeconds { get; set; } = 300;

    /// <summary>Publishes of one task the broker refuses in a row (its queue can't be declared, its message is returned) before the task is <c>failed</c>.</summary>
    [Range(1, 100)]
    public int MaxPublishAttempts { get; set; } = 5;

    /// <summary>The wait before a refused task is tried again, doubled at each try after (5, 10, 20, 40 s at the defaults).</summary>
    [Range(0, 3600)]
    public double PublishBackoffSeconds { get; set; } = 5;
}
