using System.Globalization;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;

namespace Tasks.Web.Apis;

/// <summary>A task filter as a client sends it (a list's query string, a bulk action's body): every field optional.</summary>
public sealed record FilterBody(string? State, string? Name, string? Queue, string? Schedule, string? From, string? To, string? Error)
{
    /// <summary>The filter, or null with each bad field's message added to <paramref name="errors"/>.</summary>
    public TaskFilter? ToFilter(Dictionary<string, string[]> errors, int limit = 0, Guid? after = null)
    {
        TaskState? state = null;
        if (State is not null)
        {
            if (TaskStateMachine.TryParseState(State, out var s)) state = s;
            else errors["state"] = [$"Unknown state '{State}'. States: {string.Join(", ", TaskStateMachine.Names.Values)}."];
        }
        foreach (var (field, value) in new[] { ("name", Name), ("queue", Queue), ("schedule", Schedule), ("error", Error) })
            if (value?.Contains('\0', StringComparison.Ordinal) == true) errors[field] = [$"{field} must not contain NUL characters."];
        var from = Time("from", From, errors);
        var to = Time("to", To, errors);
        if (from is not null && to is not null && from >= to) errors["to"] = ["to must be later than from."];
        return errors.Count > 0 ? null : new TaskFilter(state, Name, Queue, limit, after)
        {
            Schedule = Schedule, From = from, To = to, Error = Error,
        };
    }

    private static DateTimeOffset? Time(string field, string? value, Dictionary<string, string[]> errors)
    {
        if (value is null) return null;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            && time.Year >= 1970)
            return time;
        errors[field] = [$"{field} must be a time in ISO 8601 (say 2026-12-07T10:00:00Z) from 1970 on."];
        return null;
    }
}
