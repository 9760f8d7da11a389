using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl stats [--watch]</c>: <c>GET /stats</c>, the camera's latest snapshot (read scope). <c>--watch</c> asks
/// again every <see cref="PollInterval"/> and redraws in place (Spectre's live display), or, piped, prints each new
/// snapshot; Ctrl-C stops it with 130. Why: docs/design.md#tasksctl-a-thin-client-of-the-http-api-polling-to-watch-issue-28
/// </summary>
public static class StatsCommand
{
    // Snapshots come every Monitor:SnapshotSeconds (10 by default): a new one shows within 2 s of being taken.
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    public static Command Create()
    {
        var watch = new Option<bool>("--watch") { Description = "Refresh as new snapshots come, until Ctrl-C" };
        var command = new Command("stats", """
            The latest snapshot: workers, tasks per state, what ran in its interval per task name (counts, run and
            wait percentiles), queues, outbox. --watch refreshes it in place until Ctrl-C.
            Example: tasksctl stats --watch
            """) { watch };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            if (!parse.GetValue(watch))
            {
                var json = await session.Api.GetAsync("stats", ct);
                if (session.Output.Json) session.Output.WriteJson(json);
                else Print(session.Output, TasksClient.Read<StatsView>(json));
                return ExitCodes.Ok;
            }
            if (session.Output.Json) throw new CliException(ExitCodes.Usage, "--watch shows snapshots as they come, --json one: take one of them (see tasksctl stats --help).");
            return await WatchAsync(session, ct);
        });
        return command;
    }

    private static async Task<int> WatchAsync(Session session, CancellationToken ct)
    {
        try
        {
            var stats = TasksClient.Read<StatsView>(await session.Api.GetAsync("stats", ct));
            // After the first answer: System.CommandLine hooks Ctrl-C only once the action has first yielded.
            Output.Note("Watching stats (Ctrl-C stops watching).");
            using var timer = new PeriodicTimer(PollInterval);
            if (session.Output.Terminal)
            {
                await session.Output.Ansi.Live(Renderable(stats)).StartAsync(async live =>
                {
                    while (await timer.WaitForNextTickAsync(ct))
                    {
                        live.UpdateTarget(Renderable(TasksClient.Read<StatsView>(await session.Api.GetAsync("stats", ct))));
                        live.Refresh();
                    }
                });
            }
            else
            {
                Print(session.Output, stats);
                while (await timer.WaitForNextTickAsync(ct))
                {
                    var next = TasksClient.Read<StatsView>(await session.Api.GetAsync("stats", ct));
                    if (next.At == stats.At) continue;
                    session.Output.Line("");
                    Print(session.Output, stats = next);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Output.Note("Stopped watching. Resume with: tasksctl stats --watch");
            return ExitCodes.Interrupted;
        }
        return ExitCodes.Ok; // not reached: only Ctrl-C ends the loop
    }

    private static void Print(Output output, StatsView stats)
    {
        if (output.Terminal)
        {
            output.Ansi.Write(Renderable(stats));
            return;
        }
        var first = true;
        foreach (var (headers, rows) in Sections(stats).Where(s => s.Rows.Count > 0))
        {
            if (!first) output.Line("");
            output.Table(headers, rows);
            first = false;
        }
    }

    private static Rows Renderable(StatsView stats) =>
        new Rows(Sections(stats).Where(s => s.Rows.Count > 0).Select(s => (IRenderable)Output.BuildTable(s.Headers, s.Rows)));

    /// <summary>The snapshot as tables: the summary, then per task name, then per queue (each left out when empty).</summary>
    private static List<(string[] Headers, List<IReadOnlyList<string>> Rows)> Sections(StatsView s) =>
    [
        (["FIELD", "VALUE"], new List<IReadOnlyList<string>>
        {
            new[] { "snapshot", $"{Output.Time(s.At)} (over {N(s.IntervalSeconds)} s)" },
            new[] { "workers", $"{s.Workers.Online} online, {s.Workers.Offline} offline, {s.Workers.Stopped} stopped" },
            new[] { "tasks", string.Join(", ", s.Tasks.States.Select(p => $"{p.Value} {p.Key}")) },
            new[] { "in the interval", $"{s.Tasks.Started} started, {s.Tasks.Succeeded} succeeded, {s.Tasks.Failed} failed, {s.Tasks.Retried} retried" },
            new[] { "outbox", $"{s.Outbox.Pending} pending{(s.Outbox.OldestSeconds is { } o ? $", oldest {N(o)} s" : "")}" },
            new[] { "scheduled", s.Scheduled.ToString(CultureInfo.InvariantCulture) },
        }),
        (["TASK", "STARTED", "SUCCEEDED", "FAILED", "RETRIED", "RUN p50/p95/p99 ms", "WAIT p50/p95 ms"], [.. s.Names.Select(n => (IReadOnlyList<string>)
        [
            n.Key, N(n.Value.Started), N(n.Value.Succeeded), N(n.Value.Failed), N(n.Value.Retried),
            $"{N(n.Value.RunP50Ms)}/{N(n.Value.RunP95Ms)}/{N(n.Value.RunP99Ms)}", $"{N(n.Value.WaitP50Ms)}/{N(n.Value.WaitP95Ms)}",
        ])]),
        (["QUEUE", "READY", "CONSUMERS", "PUBLISH/s", "DELIVER/s"], [.. s.Queues.Select(q => (IReadOnlyList<string>)
            [q.Key, N(q.Value.Depth), N(q.Value.Consumers), N(q.Value.PublishRate), N(q.Value.DeliverRate)])]),
    ];

    private static string N(double? n) => n is { } v ? v.ToString("0.#", CultureInfo.InvariantCulture) : "-";
}
