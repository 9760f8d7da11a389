using System.ComponentModel.DataAnnotations;

namespace Tasks.Core.Schedules;

/// <summary>The clustered Quartz scheduler that fires schedules (section <c>Beat</c>); see docs/schedules.md.</summary>
public sealed class BeatOptions
{
    public const string Section = "Beat";

    /// <summary>Fires one scheduler runs at once (Quartz's thread pool).</summary>
    [Range(1, 1000)]
    public int ThreadCount { get; set; } = 10;

    /// <summary>How often each scheduler records in the database that it is alive.</summary>
    [Range(0.5, 600)]
    public double CheckinIntervalSeconds { get; set; } = 5;

    /// <summary>How long past a missed check-in the others wait before taking a scheduler's triggers over.</summary>
    [Range(0.5, 600)]
    public double CheckinMisfireThresholdSeconds { get; set; } = 5;

    /// <summary>A fire this late is a misfire, handled by its schedule's policy; a fire less late is fired as it was.</summary>
    [Range(1, 3600)]
    public double MisfireThresholdSeconds { get; set; } = 10;

    /// <summary>How often an idle scheduler looks for triggers (a schedule added by the API is seen within it).</summary>
    [Range(1, 60)]
    public double IdleWaitSeconds { get; set; } = 1;
}
