using System.Text.Json;
using Spectre.Console;
using Tasks.Cli.Api;

namespace Tasks.Cli;

/// <summary>
/// Follows a task until it finishes (<c>enqueue --wait</c>, <c>status --watch</c>): a live progress bar fed by its
/// progress reports on a terminal, then its result, or its error with the exit code of how it ended. Ctrl-C stops
/// the watching only (the task goes on) and says how to resume.
/// </summary>
public static class TaskWatcher
{
    // Why polling, and its cost: docs/design.md#tasksctl-a-thin-client-of-the-http-api-polling-to-watch-issue-28
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static async Task<int> WatchAsync(Session session, Guid id, CancellationToken ct)
    {
        JsonElement json;
        TaskView task;
        try
        {
            if (session.Output.Terminal) (json, task) = await WithProgressBarAsync(session, id, ct);
            else
            {
                // After the first answer: System.CommandLine hooks Ctrl-C only once the action has first yielded.
                var told = false;
                (json, task) = await PollAsync(session, id, t =>
                {
                    if (!told && !t.IsFinished) Output.Note($"Watching task {id} (Ctrl-C stops watching; the task goes on).");
                    told = true;
                }, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Output.Note($"Stopped watching; task {id} goes on. Resume with: tasksctl status {id} --watch");
            return ExitCodes.Interrupted;
        }
        Report(session.Output, json, task);
        return task.ExitCode;
    }

    /// <summary>A finished task: the document with <c>--json</c>, else its result on stdout; how it failed on stderr.</summary>
    public static void Report(Output output, JsonElement json, TaskView task)
    {
        if (output.Json) output.WriteJson(json);
        else if (task.State == "succeeded") output.Line(task.Result is { } r ? r.GetRawText() : "null");
        if (task.State != "succeeded")
            Output.Note($"tasksctl: task {task.Id} {task.State}{(task.Error is { } e ? ": " + e.ReplaceLineEndings(" ") : "")}");
    }

    private static async Task<(JsonElement, TaskView)> WithProgressBarAsync(Session session, Guid id, CancellationToken ct) =>
        await session.Output.Ansi.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var bar = context.AddTask(id.ToString(), maxValue: 1);
                bar.IsIndeterminate = true;
                var outcome = await PollAsync(session, id, t => Show(bar, t), ct);
                bar.StopTask();
                return outcome;
            });

    private static void Show(ProgressTask bar, TaskView task)
    {
        var progress = task.Progress;
        bar.Description = Markup.Escape(Output.Safe($"{task.Name} {task.State}{(progress?.Message is { } m ? ": " + m : "")}"));
        if (progress is { Current: { } current, Total: > 0 and var total })
        {
            bar.IsIndeterminate = false;
            bar.MaxValue = total;
            bar.Value = Math.Min(current, total);
        }
        if (task.State == "succeeded")
        {
            bar.IsIndeterminate = false;
            bar.Value = bar.MaxValue;
        }
    }

    private static async Task<(JsonElement, TaskView)> PollAsync(Session session, Guid id, Action<TaskView> seen, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(PollInterval);
        while (true)
        {
            var json = await session.Api.GetAsync($"tasks/{id}", ct);
            var task = TaskView.From(json);
            seen(task);
            if (task.IsFinished) return (json, task);
            await timer.WaitForNextTickAsync(ct);
        }
    }
}
