using System.ComponentModel.DataAnnotations;

namespace Tasks.Core.Telemetry;

/// <summary>Where and how <see cref="StatsDExporter"/> sends metrics (section <c>Metrics:StatsD</c>).</summary>
public sealed class StatsDOptions
{
    public const string Section = "Metrics:StatsD";

    /// <summary>The meter listened to when <see cref="Meters"/> is empty.</summary>
    public const string DefaultMeter = "Tasks";

    /// <summary>StatsD server (host name or IP address). Empty turns the exporter off.</summary>
    public string? Host { get; set; }

    [Range(1, 65535)]
    public int Port { get; set; } = 8125;

    /// <summary>
    /// Put before every metric name with a '.' between; empty for none. Dot-separated words of letters, digits,
    /// '_' and '-', so every line stays plain ASCII and no name starts or ends with a dot.
    /// </summary>
    [RegularExpression(@"^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*)?$",
        ErrorMessage = "Metrics:StatsD:Prefix must be empty or dot-separated words of letters, digits, '_' and '-'.")]
    public string Prefix { get; set; } = "tasks";

    /// <summary>
    /// Share of histogram values sent; each one goes with this probability and its line carries <c>|@rate</c>, so
    /// the server scales its counts back up. Counters are summed per flush and sent exactly, never sampled: one
    /// line per series and flush costs the same whatever the rate, and sampling a sum would only add noise.
    /// </summary>
    [Range(0.0, 1.0, MinimumIsExclusive = true)]
    public double SampleRate { get; set; } = 1.0;

    /// <summary>How often aggregated values are sent and observable instruments polled.</summary>
    [Range(10, 3_600_000)]
    public int FlushIntervalMilliseconds { get; set; } = 1000;

    /// <summary>
    /// Largest UDP payload. Lines are packed into packets separated by '\n' and never split; the default keeps a
    /// packet within a 1500-byte Ethernet MTU. A single line longer than this still goes, alone in its packet.
    /// </summary>
    [Range(64, 65507)]
    public int MaxPacketBytes { get; set; } = 1432;

    /// <summary>
    /// Names of the meters to export (exact match). Empty means just <see cref="DefaultMeter"/>: the configuration
    /// binder adds configured items to a list's initial ones, so a non-empty default could never be replaced.
    /// </summary>
    public IList<string> Meters { get; } = [];

    public IReadOnlyCollection<string> ResolvedMeters => Meters.Count == 0 ? [DefaultMeter] : [.. Meters];
}
