using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary><c>tasksctl enqueue NAME</c>: <c>POST /tasks</c>; prints the id, or with <c>--wait</c> follows it to its end.</summary>
public static class EnqueueCommand
{
    private static readonly Argument<string> Name = new("NAME") { Description = "The task's name, e.g. demo.sleep" };
    private static readonly Option<string> Args = new("--args") { Description = "The arguments as one JSON object" };
    private static readonly Option<string[]> Arg = new("--arg")
    {
        Description = "One argument as key=value (value read as JSON when it parses: 5, true, [1]; else a string); repeatable",
        AllowMultipleArgumentsPerToken = false,
    };
    private static readonly Option<string> Queue = new("--queue") { Description = "The queue (default: the task's own)" };
    private static readonly Option<string> Delay = new("--delay") { Description = "Run after this long: 30s, 5m, 2h, 1d or seconds" };
    private static readonly Option<DateTimeOffset?> At = new("--at") { Description = "Run at this time (ISO 8601, e.g. 2026-12-24T08:00:00Z)" };
    private static readonly Option<string> IdempotencyKey = new("--idempotency-key") { Description = "Enqueue at most once per key" };
    private static readonly Option<bool> Wait = new("--wait") { Description = "Follow the task with a progress bar until it ends; exit with how it ended" };

    public static Command Create()
    {
        var command = new Command("enqueue", """
            Enqueue a task and print its id.
            Example: tasksctl enqueue demo.sleep --arg seconds=5 --wait
            """) { Name, Args, Arg, Queue, Delay, At, IdempotencyKey, Wait };
        command.Validators.Add(r =>
        {
            if (r.GetResult(Args) is not null && r.GetResult(Arg) is not null) r.AddError("Give --args or --arg, not both.");
            if (r.GetResult(Delay) is not null && r.GetResult(At) is not null) r.AddError("Give --delay or --at, not both.");
        });
        Session.SetAction(command, RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Session session, CancellationToken ct)
    {
        var body = new JsonObject
        {
            ["name"] = parse.GetValue(Name),
            ["args"] = ReadArgs(parse.GetValue(Args), parse.GetValue(Arg)),
        };
        if (parse.GetValue(Queue) is { } queue) body["queue"] = queue;
        if (parse.GetValue(Delay) is { } delay) body["delaySeconds"] = ParseDelay(delay).TotalSeconds;
        if (parse.GetValue(At) is { } at) body["runAt"] = at;
        if (parse.GetValue(IdempotencyKey) is { } key) body["idempotencyKey"] = key;

        var json = await session.Api.PostAsync("tasks", body, ct);
        var task = TaskView.From(json);
        if (parse.GetValue(Wait)) return await TaskWatcher.WatchAsync(session, task.Id, ct);
        if (session.Output.Json) session.Output.WriteJson(json);
        else session.Output.Line(task.Id.ToString());
        return ExitCodes.Ok;
    }

    /// <summary>--args JSON or --arg key=value pairs as one object (shared with <c>schedules add|edit</c>).</summary>
    internal static JsonObject ReadArgs(string? json, string[]? pairs)
    {
        if (json is not null)
        {
            try
            {
                return JsonNode.Parse(json) is JsonObject o ? o : throw new CliException(ExitCodes.Usage, "--args must be a JSON object, e.g. '{\"seconds\": 5}'.");
            }
            catch (JsonException e)
            {
                throw new CliException(ExitCodes.Usage, $"--args is not valid JSON: {e.Message}");
            }
        }
        var args = new JsonObject();
        foreach (var pair in pairs ?? [])
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            if (at < 1) throw new CliException(ExitCodes.Usage, $"--arg '{pair}' is not key=value.");
            args[pair[..at]] = ParseValue(pair[(at + 1)..]);
        }
        return args;
    }

    private static JsonNode? ParseValue(string text)
    {
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            return JsonValue.Create(text);
        }
    }

    /// <summary>30s, 5m, 2h, 1d, a bare number of seconds, or a TimeSpan (00:00:30).</summary>
    public static TimeSpan ParseDelay(string text, string option = "--delay")
    {
        var units = new Dictionary<char, double> { ['s'] = 1, ['m'] = 60, ['h'] = 3600, ['d'] = 86400 };
        var unit = text.Length > 0 && units.TryGetValue(char.ToLowerInvariant(text[^1]), out var u) ? u : (double?)null;
        var number = unit is null ? text : text[..^1];
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0 && double.IsFinite(value))
            return TimeSpan.FromSeconds(value * (unit ?? 1));
        if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span >= TimeSpan.Zero) return span;
        throw new CliException(ExitCodes.Usage, $"{option} '{text}' is not a duration: 30s, 5m, 2h, 1d or seconds.");
    }
}
