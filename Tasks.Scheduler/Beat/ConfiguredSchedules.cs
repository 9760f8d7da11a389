using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tasks.Core.Schedules;

namespace Tasks.Scheduler.Beat;

/// <summary>
/// Reads the <c>Schedules</c> section: a list of schedules as the API takes them (<c>Schedules:0:name</c>,
/// <c>Schedules__0__cron</c>, ...). Configuration holds strings only, so an <c>args</c> value that reads as a
/// number or <c>true</c>/<c>false</c> becomes one; numbered children become an array.
/// </summary>
public static class ConfiguredSchedules
{
    public const string Section = "Schedules";

    public static List<ScheduleDefinition> Read(IConfiguration configuration, Dictionary<string, string[]> errors)
    {
        var all = new List<ScheduleDefinition>();
        foreach (var entry in configuration.GetSection(Section).GetChildren())
        {
            var prefix = $"{Section}:{entry.Key}:";
            int? interval = null;
            if (entry["intervalSeconds"] is { } i)
            {
                if (int.TryParse(i, CultureInfo.InvariantCulture, out var n)) interval = n;
                else errors[prefix + "intervalSeconds"] = ["intervalSeconds must be a whole number of seconds."];
            }
            bool? enabled = null;
            if (entry["enabled"] is { } e)
            {
                if (bool.TryParse(e, out var b)) enabled = b;
                else errors[prefix + "enabled"] = ["enabled must be true or false."];
            }
            var args = entry.GetSection("args");
            all.Add(new ScheduleDefinition
            {
                Name = entry["name"],
                Task = entry["task"],
                Args = args.Exists() ? JsonSerializer.SerializeToElement(ToJson(args)) : null,
                Queue = entry["queue"],
                Cron = entry["cron"],
                IntervalSeconds = interval,
                TimeZone = entry["timeZone"],
                Enabled = enabled,
                Misfire = entry["misfire"],
                Description = entry["description"],
            });
        }
        return all;
    }

    private static JsonNode? ToJson(IConfigurationSection section)
    {
        var children = section.GetChildren().ToList();
        if (children.Count == 0)
        {
            var value = section.Value;
            if (value is null) return null;
            if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) return l;
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return d;
            if (bool.TryParse(value, out var b)) return b;
            return value;
        }
        if (children.All(c => int.TryParse(c.Key, CultureInfo.InvariantCulture, out _)))
            return new JsonArray([.. children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)).Select(ToJson)]);
        var obj = new JsonObject();
        foreach (var c in children) obj[c.Key] = ToJson(c);
        return obj;
    }
}
