using System.Text.Json;
using System.Text.Json.Serialization;

namespace Tasks.Core.Schedules;

/// <summary>
/// A schedule as written (API body, a <c>Schedules</c> entry of the configuration) and as stored on its Quartz job:
/// which task to enqueue with which args, and when (a cron expression or a fixed interval) in which time zone.
/// </summary>
public sealed record ScheduleDefinition
{
    public string? Name { get; init; }
    public string? Task { get; init; }
    public JsonElement? Args { get; init; }
    public string? Queue { get; init; }
    public string? Cron { get; init; }
    public int? IntervalSeconds { get; init; }
    public string? TimeZone { get; init; }
    public bool? Enabled { get; init; }
    public string? Misfire { get; init; }
    public string? Description { get; init; }

    public const string FireOnce = "fireOnce";
    public const string Skip = "skip";

    private static readonly JsonSerializerOptions Stored = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The stored form, also what config reconciliation compares: a normalised definition gives the same text each time.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Stored);

    public static ScheduleDefinition FromJson(string json) =>
        JsonSerializer.Deserialize<ScheduleDefinition>(json, Stored) ?? throw new JsonException("A stored schedule definition is null.");
}
