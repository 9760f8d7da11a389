using System.CommandLine;
using System.Globalization;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl workers [NAME]</c>: <c>GET /workers</c> (or <c>/workers/{name}</c>), the workers as their heartbeats
/// describe them (read scope).
/// </summary>
public static class WorkersCommand
{
    private static readonly string[] Headers = ["NAME", "STATE", "QUEUES", "RUNNING", "PROCESSED", "FAILED", "LAST HEARTBEAT"];

    public static Command Create()
    {
        var name = new Argument<string?>("NAME") { Description = "One worker's name (Worker:Name): show it alone, in full", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("workers", """
            List workers: state (online, offline, stopped), queues and concurrency, tasks running, processed, failed,
            last heartbeat. With a NAME, that worker's every field.
            Example: tasksctl workers
            """) { name };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            if (parse.GetValue(name) is { } one)
            {
                var json = await session.Api.GetAsync($"workers/{Uri.EscapeDataString(one)}", ct);
                if (session.Output.Json) session.Output.WriteJson(json);
                else Show(session.Output, TasksClient.Read<WorkerView>(json));
                return ExitCodes.Ok;
            }
            var list = await session.Api.GetAsync("workers", ct);
            if (session.Output.Json) session.Output.WriteJson(list);
            else if (TasksClient.Read<WorkerList>(list).Items is { Count: > 0 } items)
                session.Output.Table(Headers, items.Select(Row), (column, cell) => column == 1 ? Output.StateColour(cell) : null);
            else Output.Note("No workers have sent a heartbeat yet.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static IReadOnlyList<string> Row(WorkerView w) =>
        [w.Name, w.State, Queues(w.Queues), Number(w.Running.Count), Number(w.Processed), Number(w.Failed), Output.Time(w.LastHeartbeat)];

    private static void Show(Output output, WorkerView w) => output.Table(["FIELD", "VALUE"], new (string, string)[]
    {
        ("name", w.Name), ("state", w.State), ("host", w.Host), ("pid", Number(w.Pid)), ("version", w.Version),
        ("queues", Queues(w.Queues)), ("running", w.Running.Count == 0 ? "-" : string.Join(" ", w.Running)),
        ("processed", Number(w.Processed)), ("succeeded", Number(w.Succeeded)), ("failed", Number(w.Failed)), ("retried", Number(w.Retried)),
        ("started", Output.Time(w.StartedAt)), ("last heartbeat", Output.Time(w.LastHeartbeat)), ("stopped", Output.Time(w.StoppedAt)),
    }.Select(r => (IReadOnlyList<string>)[r.Item1, r.Item2]), (column, cell) => column == 1 && cell == w.State ? Output.StateColour(cell) : null);

    /// <summary><c>default:8 emails:2(paused)</c>: each queue with its concurrency.</summary>
    private static string Queues(List<WorkerQueueView> queues) =>
        queues.Count == 0 ? "-" : string.Join(" ", queues.Select(q => $"{q.Name}:{Number(q.Concurrency)}{(q.Paused ? "(paused)" : "")}"));

    internal static string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
}
