using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl schedules add|edit</c>: a schedule's definition from options; <c>add</c> POSTs it, <c>edit</c> reads
/// the current one, changes what was given, and PUTs the whole of it (the API replaces, it doesn't patch).
/// </summary>
public sealed class ScheduleEditCommand
{
    /// <summary>The fields of a schedule resource that make its definition (the rest is state).</summary>
    private static readonly string[] DefinitionFields = ["task", "args", "queue", "cron", "intervalSeconds", "timeZone", "enabled", "misfire", "description"];

    private readonly Argument<string> _name = SchedulesCommand.NameArgument();
    private readonly Option<string> _task = new("--task") { Description = "The task to enqueue, e.g. reports.generate" };
    private readonly Option<string> _args = new("--args") { Description = "The task's arguments as one JSON object" };
    private readonly Option<string[]> _arg = new("--arg")
    {
        Description = "One argument as key=value (value read as JSON when it parses; else a string); repeatable",
        AllowMultipleArgumentsPerToken = false,
    };
    private readonly Option<string> _cron = new("--cron") { Description = "Quartz cron with seconds, e.g. '0 30 2 * * ?' (docs/schedules.md)" };
    private readonly Option<string> _every = new("--every") { Description = "A fixed interval instead of a cron: 30s, 5m, 2h, 1d or seconds" };
    private readonly Option<string> _timeZone = new("--time-zone") { Description = "IANA time zone the cron is read in (default UTC)" };
    private readonly Option<string> _queue = new("--queue") { Description = "The queue (default: the task's own)" };
    private readonly Option<string> _misfire = new("--misfire") { Description = "After a missed fire: one catch-up run (fireOnce) or none (skip)" };
    private readonly Option<string> _description = new("--description") { Description = "What the schedule is for" };
    private readonly Option<bool> _disabled = new("--disabled") { Description = "Store it paused" };

    private ScheduleEditCommand() => _misfire.AcceptOnlyFromAmong("fireOnce", "skip");

    public static Command Add()
    {
        var o = new ScheduleEditCommand();
        o._task.Required = true;
        var command = o.Build("add", """
            Add a schedule (needs an admin key).
            Example: tasksctl schedules add nightly-report --task reports.generate --arg customerId=42 --cron '0 30 2 * * ?' --time-zone Europe/Berlin
            """);
        command.Validators.Add(r =>
        {
            if (r.GetResult(o._cron) is null && r.GetResult(o._every) is null) r.AddError("Give --cron or --every.");
        });
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var body = new JsonObject { ["name"] = parse.GetValue(o._name) };
            o.Apply(parse, body);
            return Print(session, await session.Api.PostAsync("schedules", body, ct), "added");
        });
        return command;
    }

    public static Command Edit()
    {
        var o = new ScheduleEditCommand();
        var command = o.Build("edit", """
            Change a schedule made through the API: what is given changes, the rest stays (needs an admin key).
            Example: tasksctl schedules edit nightly-report --cron '0 0 3 * * ?'
            """);
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var path = $"schedules/{Uri.EscapeDataString(parse.GetValue(o._name)!)}";
            var current = JsonNode.Parse((await session.Api.GetAsync(path, ct)).GetRawText())!.AsObject();
            var body = new JsonObject();
            foreach (var field in DefinitionFields)
                if (current[field] is { } value) body[field] = value.DeepClone();
            if (parse.GetResult(o._args) is null && parse.GetResult(o._arg) is null && HoldsRedacted(body["args"]))
                throw new CliException(ExitCodes.Usage, "the schedule's args hold sensitive fields the API shows as ***; give them all again with --args.");
            o.Apply(parse, body);
            return Print(session, await session.Api.PutAsync(path, body, ct), "changed");
        });
        return command;
    }

    private Command Build(string name, string description)
    {
        var command = new Command(name, description) { _name, _task, _args, _arg, _cron, _every, _timeZone, _queue, _misfire, _description, _disabled };
        command.Validators.Add(r =>
        {
            if (r.GetResult(_args) is not null && r.GetResult(_arg) is not null) r.AddError("Give --args or --arg, not both.");
            if (r.GetResult(_cron) is not null && r.GetResult(_every) is not null) r.AddError("Give --cron or --every, not both.");
        });
        return command;
    }

    /// <summary>Writes the options given into <paramref name="body"/>; a cron replaces an interval and the other way round.</summary>
    private void Apply(ParseResult parse, JsonObject body)
    {
        if (parse.GetValue(_task) is { } task) body["task"] = task;
        if (parse.GetResult(_args) is not null || parse.GetResult(_arg) is not null)
            body["args"] = EnqueueCommand.ReadArgs(parse.GetValue(_args), parse.GetValue(_arg));
        if (parse.GetValue(_cron) is { } cron)
        {
            body["cron"] = cron;
            body.Remove("intervalSeconds");
        }
        if (parse.GetValue(_every) is { } every)
        {
            var seconds = EnqueueCommand.ParseDelay(every, "--every").TotalSeconds;
            if (seconds != Math.Floor(seconds) || seconds > int.MaxValue)
                throw new CliException(ExitCodes.Usage, $"--every '{every}' is not a whole number of seconds.");
            body["intervalSeconds"] = (int)seconds;
            body.Remove("cron");
            body.Remove("timeZone"); // for a cron only
        }
        if (parse.GetValue(_timeZone) is { } zone) body["timeZone"] = zone;
        if (parse.GetValue(_queue) is { } queue) body["queue"] = queue;
        if (parse.GetValue(_misfire) is { } misfire) body["misfire"] = misfire;
        if (parse.GetValue(_description) is { } description) body["description"] = description;
        if (parse.GetValue(_disabled)) body["enabled"] = false;
    }

    private static bool HoldsRedacted(JsonNode? args) =>
        args is JsonValue v ? v.ToString() == "***" : args is JsonObject o && o.Any(p => p.Value is JsonValue f && f.ToString() == "***");

    private static int Print(Session session, JsonElement json, string done)
    {
        if (session.Output.Json) session.Output.WriteJson(json);
        else Output.Note($"Schedule '{json.GetProperty("name").GetString()}' {done}; next fire {Output.Time(
            json.GetProperty("nextFireTimes").EnumerateArray().Select(t => (DateTimeOffset?)t.GetDateTimeOffset()).FirstOrDefault())}.");
        return ExitCodes.Ok;
    }
}
