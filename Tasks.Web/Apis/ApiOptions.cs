using System.ComponentModel.DataAnnotations;

namespace Tasks.Web.Apis;

/// <summary>HTTP API settings (section <c>Api</c>).</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Largest accepted request body, in bytes; bigger ones get 413.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public long MaxBodyBytes { get; set; } = 256 * 1024;

    /// <summary>Most tasks in one <c>/batch</c> call.</summary>
    [Range(1, 100_000)]
    public int MaxBatchSize { get; set; } = 1000;

    /// <summary>How far ahead a task may be put off, by <c>delaySeconds</c> or <c>runAt</c>.</summary>
    [Range(1, 36500)]
    public int MaxDelayDays { get; set; } = 365;
}
