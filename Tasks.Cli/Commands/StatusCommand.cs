using System.CommandLine;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary><c>tasksctl status ID</c>: <c>GET /tasks/{id}</c>; with <c>--watch</c> follows it to its end.</summary>
public static class StatusCommand
{
    private static readonly Argument<Guid> Id = new("ID") { Description = "The task's id" };
    private static readonly Option<bool> Watch = new("--watch") { Description = "Follow the task with a progress bar until it ends; exit with how it ended" };

    public static Command Create()
    {
        var command = new Command("status", """
            Show a task: state, progress, attempts, times, result or error.
            Example: tasksctl status 0193c1de-8a4f-7cc2-9d1e-2b0f5a6c7d8e --watch
            """) { Id, Watch };
        Session.SetAction(command, RunAsync);
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, Session session, CancellationToken ct)
    {
        var id = parse.GetValue(Id);
        if (parse.GetValue(Watch)) return await TaskWatcher.WatchAsync(session, id, ct);
        var json = await session.Api.GetAsync($"tasks/{id}", ct);
        if (session.Output.Json)
        {
            session.Output.WriteJson(json);
            return ExitCodes.Ok;
        }
        var t = TaskView.From(json);
        var progress = t.Progress is { Current: { } c } p ? $"{c}{(p.Total is { } total ? "/" + total : "")} {p.Message}".Trim() : "-";
        session.Output.Table(["FIELD", "VALUE"], new (string, string)[]
        {
            ("id", t.Id.ToString()), ("name", t.Name), ("queue", t.Queue), ("state", t.State + (t.CancelRequested ? " (cancel requested)" : "")),
            ("attempts", $"{t.Attempts}/{t.MaxAttempts}"), ("progress", progress), ("enqueued", Output.Time(t.EnqueuedAt)),
            ("scheduled for", Output.Time(t.ScheduledFor)), ("started", Output.Time(t.StartedAt)), ("finished", Output.Time(t.FinishedAt)),
            ("worker", t.Worker ?? "-"), ("result", t.Result?.GetRawText() ?? "-"), ("error", t.Error ?? "-"),
        }.Select(r => (IReadOnlyList<string>)[r.Item1, r.Item2]));
        return ExitCodes.Ok;
    }
}
