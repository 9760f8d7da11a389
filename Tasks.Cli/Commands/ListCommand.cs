using System.CommandLine;
using System.Text.Json;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary><c>tasksctl list</c>: <c>GET /tasks</c>, newest first, following <c>nextCursor</c> until the limit or the end.</summary>
public static class ListCommand
{
    /// <summary>The API's largest page (TaskQueries.MaxLimit).</summary>
    private const int MaxPage = 500;

    private static readonly Option<string> State = new("--state") { Description = "Only tasks in this state (pending, scheduled, queued, running, succeeded, failed, canceled, expired)" };
    private static readonly Option<string> Name = new("--name") { Description = "Only tasks of this name" };
    private static readonly Option<string> Queue = new("--queue") { Description = "Only tasks on this queue" };
    private static readonly Option<int> Limit = new("--limit") { Description = "At most this many tasks", DefaultValueFactory = _ => 50 };
    private static readonly Option<bool> All = new("--all") { Description = "Every matching task, page after page (no --limit)" };

    public static Command Create()
    {
        var command = new Command("list", """
            List tasks, newest first.
            Example: tasksctl list --state failed --name reports.generate --all
            """) { State, Name, Queue, Limit, All };
        command.Validators.Add(r =>
        {
            if (r.GetResult(Limit) is not null && r.GetValue(All)) r.AddError("Give --limit or --all, not both.");
        });
        Limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 1) r.AddError("--limit must be at least 1.");
        });
        Session.SetAction(command, RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Session session, CancellationToken ct)
    {
        var wanted = parse.GetValue(All) ? int.MaxValue : parse.GetValue(Limit);
        var filter = string.Concat(new[] { ("state", parse.GetValue(State)), ("name", parse.GetValue(Name)), ("queue", parse.GetValue(Queue)) }
            .Where(f => f.Item2 is not null).Select(f => $"&{f.Item1}={Uri.EscapeDataString(f.Item2!)}"));
        var items = new List<JsonElement>();
        string? cursor = null;
        do
        {
            var size = Math.Min(MaxPage, wanted - items.Count);
            var page = await session.Api.GetAsync($"tasks?limit={size}{filter}{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}", ct);
            items.AddRange(page.GetProperty("items").EnumerateArray());
            cursor = page.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null && items.Count < wanted);

        if (session.Output.Json)
        {
            session.Output.WriteJson(new { items, nextCursor = cursor });
            return ExitCodes.Ok;
        }
        session.Output.Table(["ID", "NAME", "QUEUE", "STATE", "ATTEMPTS", "ENQUEUED", "ERROR"], items.Select(TaskView.From).Select(t =>
            (IReadOnlyList<string>)[t.Id.ToString(), t.Name, t.Queue, t.State, $"{t.Attempts}/{t.MaxAttempts}", Output.Time(t.EnqueuedAt), t.Error?.ReplaceLineEndings(" ") ?? ""]));
        if (cursor is not null) Output.Note("More tasks match: --limit N for more, or --all.");
        return ExitCodes.Ok;
    }
}
