using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Html;
using Tasks.Core.Registry;
using Tasks.Core.Schedules;

namespace Tasks.Web.Dashboard;

/// <summary>
/// The schedule form's fields as posted (text, as typed). Reading them only turns text into the JSON shapes the
/// API's body has (args as JSON, the interval as a number): the checking is <see cref="ScheduleValidator"/>'s alone
/// (docs/design.md, "The schedule form").
/// </summary>
public sealed class ScheduleInput
{
    public string? Name { get; set; }
    public string? Task { get; set; }
    public string? Args { get; set; }
    public string? Queue { get; set; }
    public string? Cron { get; set; }
    public string? IntervalSeconds { get; set; }
    public string? TimeZone { get; set; }
    public bool Enabled { get; set; } // a checkbox: absent from the post when unchecked
    public string? Misfire { get; set; }
    public string? Description { get; set; }

    // Razor encodes the text for HTML; JSON's own escaping of '<' or '"' would show as \u003C in the field.
    private static readonly JsonSerializerOptions AsTyped = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A stored schedule in the form, its args masked as the API shows them (sensitive fields as ***).</summary>
    public static ScheduleInput From(ScheduleDefinition d, TaskRegistry registry) => new()
    {
        Name = d.Name,
        Task = d.Task,
        Args = d.Args is { } args ? registry.Redacted(d.Task!, args.GetRawText())?.ToJsonString(AsTyped) : null,
        Queue = d.Queue,
        Cron = d.Cron,
        IntervalSeconds = d.IntervalSeconds?.ToString(CultureInfo.InvariantCulture),
        TimeZone = d.TimeZone,
        Enabled = d.Enabled != false,
        Misfire = d.Misfire,
        Description = d.Description,
    };

    /// <summary>The definition the API would have read from the same values as JSON; null when a field isn't even that.</summary>
    public ScheduleDefinition? ToDefinition(Dictionary<string, string[]> errors)
    {
        JsonElement? args = null;
        if (Blank(Args) is { } text)
        {
            try
            {
                using var json = JsonDocument.Parse(text);
                args = json.RootElement.Clone();
            }
            catch (JsonException e)
            {
                errors["args"] = [$"args is not JSON: {e.Message}"];
            }
        }
        int? interval = null;
        if (Blank(IntervalSeconds) is { } seconds)
        {
            if (int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) interval = n;
            else errors["intervalSeconds"] = ["intervalSeconds must be a whole number of seconds."];
        }
        if (errors.Count > 0) return null;
        return new ScheduleDefinition
        {
            Name = Blank(Name), Task = Blank(Task), Args = args, Queue = Blank(Queue), Cron = Blank(Cron), IntervalSeconds = interval,
            TimeZone = Blank(TimeZone), Enabled = Enabled, Misfire = Blank(Misfire), Description = Blank(Description),
        };
    }

    public static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
}

/// <summary>What the form shows: its values, the errors by field, and the cron's next fires.</summary>
public sealed record ScheduleFormView(ScheduleInput Input, IReadOnlyDictionary<string, string[]> Errors, CronPreview Preview, bool IsNew, IReadOnlyList<string> Tasks)
{
    /// <summary>The messages for one field, args' own fields (<c>args.message</c>) under <c>args</c>.</summary>
    public IEnumerable<string> ErrorsOf(string field) => Errors
        .Where(e => e.Key == field || e.Key.StartsWith(field + ".", StringComparison.Ordinal) || e.Key.StartsWith(field + "[", StringComparison.Ordinal))
        .SelectMany(e => e.Key == field ? e.Value : e.Value.Select(m => $"{e.Key}: {m}"));

    public static readonly IReadOnlyList<string> TimeZones = [.. TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).Order(StringComparer.Ordinal)];
}

/// <summary>A cron expression checked as one types: its errors (by field), or its next fire times in its zone.</summary>
public sealed record CronPreview(string? Cron, string? TimeZone, IReadOnlyDictionary<string, string[]> Errors, IReadOnlyList<DateTimeOffset> Times)
{
    public static CronPreview Of(ScheduleValidator validator, string? cron, string? timeZone)
    {
        cron = ScheduleInput.Blank(cron);
        timeZone = ScheduleInput.Blank(timeZone);
        var errors = new Dictionary<string, string[]>();
        var times = cron is null ? [] : validator.Preview(cron, timeZone, errors);
        return new(cron, timeZone, errors, times);
    }

    /// <summary>A fire time in the schedule's zone, its UTC instant in <c>datetime</c>.</summary>
    public IHtmlContent Local(DateTimeOffset at)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(TimeZone ?? "UTC");
        var local = TimeZoneInfo.ConvertTime(at, zone);
        return new HtmlString(string.Create(CultureInfo.InvariantCulture,
            $"<time datetime=\"{at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}\">{local:ddd yyyy-MM-dd HH:mm:ss} <span class=\"muted\">({local:zzz})</span></time>"));
    }
}
