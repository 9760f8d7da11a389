using System.CommandLine;
using System.Globalization;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl ping</c> and <c>tasksctl shutdown WORKER</c>: commands to the workers over the control channel
/// (<c>POST /workers/ping</c>, <c>/workers/{name}/shutdown</c>; admin scope), answered within <c>--timeout-ms</c>.
/// </summary>
public static class WorkerControlCommand
{
    /// <summary>How long the API waits for the workers' replies (its <c>timeoutMs</c>); shared by the queue pause and resume.</summary>
    internal static Option<int?> ReplyTimeout() => new("--timeout-ms")
    {
        Description = "How long the API waits for the workers' replies, in milliseconds (1-10000; the API's default is 1000)",
    };

    internal static string Query(ParseResult parse, Option<int?> timeout) =>
        parse.GetValue(timeout) is { } ms ? $"?timeoutMs={ms.ToString(CultureInfo.InvariantCulture)}" : "";

    public static Command Ping()
    {
        var timeout = ReplyTimeout();
        var command = new Command("ping", """
            Ask every worker to answer, and list those that did with their round trip (needs an admin key). Exits 8
            when none answered.
            Example: tasksctl ping --timeout-ms 3000
            """) { timeout };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var json = await session.Api.PostAsync($"workers/ping{Query(parse, timeout)}", null, ct);
            var items = TasksClient.Read<PingList>(json).Items;
            if (items.Count == 0)
                throw new CliException(ExitCodes.NotFound, $"no worker answered within {parse.GetValue(timeout) ?? 1000} ms (--timeout-ms).");
            if (session.Output.Json) session.Output.WriteJson(json);
            else session.Output.Table(["NAME", "LATENCY (ms)"], items.Select(p =>
                (IReadOnlyList<string>)[p.Name, p.LatencyMs.ToString("0.0", CultureInfo.InvariantCulture)]));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Shutdown()
    {
        var name = new Argument<string>("WORKER") { Description = "The worker's name (Worker:Name; tasksctl workers lists them)" };
        var timeout = ReplyTimeout();
        var command = new Command("shutdown", """
            Stop one worker as SIGTERM would: it takes no new tasks and gives its running ones the grace period
            (needs an admin key). Exits 8 when no worker of that name answers.
            Example: tasksctl shutdown worker@host-1:4242
            """) { name, timeout };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var json = await session.Api.PostAsync($"workers/{Uri.EscapeDataString(parse.GetValue(name)!)}/shutdown{Query(parse, timeout)}", null, ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else Output.Note($"Worker '{parse.GetValue(name)}' answered: {TasksClient.Read<ControlResultView>(json).Detail}.");
            return ExitCodes.Ok;
        });
        return command;
    }
}
