using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl schedules list|show|add|edit|remove|pause|resume|trigger</c>: <c>/api/v1/schedules</c>
/// (Tasks.Web/Apis/SchedulesApi.cs, docs/schedules.md). Reads need <c>read</c>, the rest <c>admin</c>.
/// </summary>
public static class SchedulesCommand
{
    public static Command Create() => new("schedules", """
        Manage periodic tasks (schedules): list and show need a read key, the others an admin key.
        Example: tasksctl schedules add nightly-report --task reports.generate --arg customerId=42 --cron '0 30 2 * * ?'
        """)
    {
        List(), Show(), ScheduleEditCommand.Add(), ScheduleEditCommand.Edit(), Remove(),
        Change("pause", "Pause a schedule: it fires no more until resumed.", "paused"),
        Change("resume", "Resume a paused schedule.", "resumed"),
        Trigger(),
    };

    private static Command List()
    {
        var command = new Command("list", """
            List schedules by name: task, when, next and last fire, paused, source.
            Example: tasksctl schedules list --json
            """);
        Session.SetAction(command, async (_, session, ct) =>
        {
            var json = await session.Api.GetAsync("schedules", ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else session.Output.Table(["NAME", "TASK", "WHEN", "NEXT FIRE", "LAST FIRE", "LAST STATE", "PAUSED", "SOURCE"],
                json.GetProperty("items").EnumerateArray().Select(s => (IReadOnlyList<string>)[Text(s, "name"), Text(s, "task"), When(s),
                    Output.Time(s.GetProperty("nextFireTimes").EnumerateArray().Select(t => (DateTimeOffset?)t.GetDateTimeOffset()).FirstOrDefault()),
                    Output.Time(Time(s, "lastFireTime")), Text(s, "lastTaskState"), s.GetProperty("paused").GetBoolean() ? "yes" : "no", Text(s, "source")]));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show()
    {
        var name = NameArgument();
        var limit = new Option<int>("--fires") { Description = "How many recent fires to show (1-500)", DefaultValueFactory = _ => 10 };
        var command = new Command("show", """
            Show a schedule: its definition, next fire times, last fire, paused, source, and its recent fires.
            Example: tasksctl schedules show nightly-report
            """) { name, limit };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var path = $"schedules/{Uri.EscapeDataString(parse.GetValue(name)!)}";
            var schedule = await session.Api.GetAsync(path, ct);
            var fires = (await session.Api.GetAsync($"{path}/fires?limit={parse.GetValue(limit)}", ct)).GetProperty("items");
            if (session.Output.Json)
            {
                // One document: the schedule as the API shows it, with its recent fires added.
                var document = JsonNode.Parse(schedule.GetRawText())!.AsObject();
                document["recentFires"] = JsonNode.Parse(fires.GetRawText());
                session.Output.WriteJson(document);
                return ExitCodes.Ok;
            }
            var s = schedule;
            var next = string.Join(", ", s.GetProperty("nextFireTimes").EnumerateArray().Select(t => Output.Time(t.GetDateTimeOffset())));
            session.Output.Table(["FIELD", "VALUE"], new (string, string)[]
            {
                ("name", Text(s, "name")), ("task", Text(s, "task")), ("args", s.TryGetProperty("args", out var a) && a.ValueKind != JsonValueKind.Null ? JsonSerializer.Serialize(a) : "-"),
                ("queue", Text(s, "queue")), ("when", When(s)), ("time zone", Text(s, "timeZone")), ("misfire", Text(s, "misfire")),
                ("enabled", s.GetProperty("enabled").GetBoolean() ? "yes" : "no"), ("paused", s.GetProperty("paused").GetBoolean() ? "yes" : "no"),
                ("source", Text(s, "source")), ("description", Text(s, "description")), ("next fires", next.Length == 0 ? "-" : next),
                ("last fire", Output.Time(Time(s, "lastFireTime"))), ("last task", Text(s, "lastTaskId")), ("last state", Text(s, "lastTaskState")),
            }.Select(r => (IReadOnlyList<string>)[r.Item1, r.Item2]));
            if (fires.GetArrayLength() == 0) Output.Note("No fires yet.");
            else session.Output.Table(["FIRE TIME", "TASK", "STATE"], fires.EnumerateArray().Select(f =>
                (IReadOnlyList<string>)[Output.Time(f.GetProperty("fireTime").GetDateTimeOffset()), Text(f, "taskId"), Text(f, "taskState")]));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Remove()
    {
        var name = NameArgument();
        var command = new Command("remove", """
            Delete a schedule made through the API (one from configuration is removed there).
            Example: tasksctl schedules remove nightly-report
            """) { name };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            await session.Api.DeleteAsync($"schedules/{Uri.EscapeDataString(parse.GetValue(name)!)}", ct);
            if (session.Output.Json) session.Output.WriteJson(new { name = parse.GetValue(name), removed = true });
            else Output.Note($"Schedule '{parse.GetValue(name)}' removed.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Change(string action, string description, string done)
    {
        var name = NameArgument();
        var command = new Command(action, $"""
            {description}
            Example: tasksctl schedules {action} nightly-report
            """) { name };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var json = await session.Api.PostAsync($"schedules/{Uri.EscapeDataString(parse.GetValue(name)!)}/{action}", null, ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else Output.Note($"Schedule '{parse.GetValue(name)}' {done}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Trigger()
    {
        var name = NameArgument();
        var command = new Command("trigger", """
            Enqueue one run of a schedule's task now, as a fire would; print the task's id.
            Example: tasksctl schedules trigger nightly-report
            """) { name };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var json = await session.Api.PostAsync($"schedules/{Uri.EscapeDataString(parse.GetValue(name)!)}/trigger", null, ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else session.Output.Line(TaskView.From(json).Id.ToString());
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static Argument<string> NameArgument() => new("NAME") { Description = "The schedule's name" };

    private static string When(JsonElement s) =>
        Text(s, "cron") is var cron && cron != "-" ? cron : $"every {s.GetProperty("intervalSeconds").GetInt32()}s";

    private static string Text(JsonElement e, string field) =>
        e.TryGetProperty(field, out var v) && v.ValueKind != JsonValueKind.Null ? v.ToString() : "-";

    private static DateTimeOffset? Time(JsonElement e, string field) =>
        e.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String ? v.GetDateTimeOffset() : null;
}
