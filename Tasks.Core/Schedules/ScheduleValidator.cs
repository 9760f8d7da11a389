using System.Text.Json;
using System.Text.RegularExpressions;
using Quartz;
using Tasks.Core.Registry;

namespace Tasks.Core.Schedules;

/// <summary>
/// Checks a schedule before anything is stored, field by field (the API's 400 and a bad <c>Schedules</c> entry at
/// start-up say the same things): the task and its args exactly as <c>POST /api/v1/tasks</c> checks them, a cron
/// expression that parses (naming the field that doesn't) and fires at least once, a known time zone.
/// </summary>
public sealed partial class ScheduleValidator(TaskRegistry registry, TimeProvider clock)
{
    public const int MaxIntervalSeconds = 366 * 86400;
    private static readonly string[] CronFields = ["seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year"];

    /// <summary>The definition with its defaults filled in and its args normalised through the contract; null when <paramref name="errors"/> got any.</summary>
    public ScheduleDefinition? Check(ScheduleDefinition schedule, Dictionary<string, string[]> errors)
    {
        void Error(string field, string message) => errors[field] = [.. errors.GetValueOrDefault(field, []), message];

        if (string.IsNullOrEmpty(schedule.Name)) Error("name", "name is required.");
        else if (!ValidName().IsMatch(schedule.Name))
            Error("name", "name must be 1-200 letters, digits, '.', '_', '-', ':' or '@', starting with a letter or digit.");

        string? args = null;
        if (string.IsNullOrEmpty(schedule.Task)) Error("task", "task is required.");
        else if (!registry.TryGet(schedule.Task, out var definition))
            Error("task", $"Unknown task '{schedule.Task}'. Known tasks: {string.Join(", ", registry.Names)}.");
        else
        {
            var check = TaskRegistry.Check(definition, schedule.Args);
            foreach (var (field, messages) in check.Errors) errors[field] = [.. errors.GetValueOrDefault(field, []), .. messages];
            args = check.Json;
            if (registry.QueueProblem(schedule.Queue ?? definition.Queue) is { } queueProblem) Error("queue", queueProblem);
        }

        var zone = Zone(schedule.TimeZone, errors);

        if (schedule.Cron is null == schedule.IntervalSeconds is null)
            Error(schedule.Cron is null ? "cron" : "intervalSeconds", "Give exactly one of cron and intervalSeconds.");
        else if (schedule.IntervalSeconds is < 1 or > MaxIntervalSeconds)
            Error("intervalSeconds", $"intervalSeconds must be between 1 and {MaxIntervalSeconds}.");
        else if (schedule.Cron is { } cron && CronProblem(cron, zone) is { } problem)
            Error("cron", problem);

        if (schedule.Misfire is not (null or ScheduleDefinition.FireOnce or ScheduleDefinition.Skip))
            Error("misfire", $"misfire must be '{ScheduleDefinition.FireOnce}' (one catch-up run, the default) or '{ScheduleDefinition.Skip}'.");
        if (schedule.Description is { Length: > 1000 }) Error("description", "description must be at most 1000 characters.");
        if (schedule.Description?.Contains('\0', StringComparison.Ordinal) == true) Error("description", "description must not contain NUL characters.");

        if (errors.Count > 0) return null;
        return schedule with
        {
            Args = JsonDocument.Parse(args!).RootElement.Clone(),
            TimeZone = schedule.Cron is null ? null : schedule.TimeZone ?? "UTC",
            Enabled = schedule.Enabled ?? true,
            Misfire = schedule.Misfire ?? ScheduleDefinition.FireOnce,
        };
    }

    /// <summary>
    /// The cron and time zone alone, checked as <see cref="Check"/> checks them (same keys, same messages), and the
    /// next <paramref name="count"/> fire times the stored trigger would have: the dashboard's check as one types.
    /// </summary>
    public IReadOnlyList<DateTimeOffset> Preview(string cron, string? timeZone, Dictionary<string, string[]> errors, int count = 5)
    {
        var zone = Zone(timeZone, errors);
        if (CronProblem(cron, zone) is { } problem) errors["cron"] = [problem];
        return errors.Count > 0 ? [] : Cadences.Preview(new ScheduleDefinition { Name = "preview", Cron = cron, TimeZone = timeZone ?? "UTC" }, clock, count);
    }

    private static TimeZoneInfo Zone(string? tz, Dictionary<string, string[]> errors)
    {
        if (tz is null) return TimeZoneInfo.Utc;
        if (TimeZoneInfo.TryFindSystemTimeZoneById(tz, out var zone)) return zone;
        errors["timeZone"] = [$"Unknown time zone '{tz}'; use an IANA name such as 'Europe/Paris' or 'UTC'."];
        return TimeZoneInfo.Utc;
    }

    private string? CronProblem(string cron, TimeZoneInfo zone)
    {
        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (fields.Length is < 6 or > 7)
            return $"A cron expression has 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), e.g. '0 */5 * * * ?'; '{cron}' has {fields.Length}.";
        CronExpression expression;
        try
        {
            expression = new CronExpression(cron, zone);
        }
        catch (FormatException e)
        {
            return $"The {BadField(fields) ?? "expression"} field does not parse: {e.Message}";
        }
        return expression.GetNextValidTimeAfter(clock.GetUtcNow()) is null
            ? $"'{cron}' never fires (no time after now matches it)."
            : null;
    }

    // Each field alone in an otherwise match-all expression: the first that fails there is the one to name.
    private static string? BadField(string[] fields)
    {
        for (var i = 0; i < fields.Length; i++)
        {
            string[] probe = ["0", "*", "*", "*", "*", "?", "*"];
            probe[i] = fields[i];
            if (i == 5 && fields[i] != "?") probe[3] = "?";
            if (!CronExpression.TryParse(string.Join(' ', probe[..Math.Max(6, fields.Length)]), out _)) return CronFields[i];
        }
        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$")] // not "." or "..": a URL path would lose them
    private static partial Regex ValidName();
}
