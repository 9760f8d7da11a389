using System.Text.Json;

namespace Tasks.Core.Monitoring;

/// <summary>How the snapshot's JSON parts are written and read: camelCase, as the API shows them.</summary>
public static class MonitorJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Read<T>(string json) => JsonSerializer.Deserialize<T>(json, Options)!;
}
