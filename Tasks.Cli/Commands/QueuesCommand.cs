using System.CommandLine;
using System.Globalization;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl queues</c>: <c>GET /queues</c>, the broker's figures from the latest snapshot (read scope); and
/// <c>queues pause|resume QUEUE --worker NAME</c>: <c>POST /workers/{name}/queues/{queue}/pause|resume</c> (admin scope).
/// </summary>
public static class QueuesCommand
{
    public static Command Create()
    {
        var command = new Command("queues", """
            List queues: messages ready, consumers, publish and deliver rates per second (from the latest snapshot),
            and whether a worker has paused it.
            Example: tasksctl queues
            """)
        {
            Change("pause", "Stop one worker consuming a queue: its running tasks finish, the messages it held go back to the queue."),
            Change("resume", "Let one worker consume a paused queue again."),
        };
        Session.SetAction(command, async (_, session, ct) =>
        {
            var json = await session.Api.GetAsync("queues", ct);
            if (session.Output.Json)
            {
                session.Output.WriteJson(json);
                return ExitCodes.Ok;
            }
            var list = TasksClient.Read<QueueList>(json);
            if (list.At is null) Output.Note("No snapshot yet: the broker's figures come with the first (scheduler hosts, every Monitor:SnapshotSeconds).");
            session.Output.Table(["NAME", "READY", "CONSUMERS", "PUBLISH/s", "DELIVER/s", "PAUSED"], list.Items.Select(q => (IReadOnlyList<string>)
            [
                q.Name, Figure(q.Depth), Figure(q.Consumers), Rate(q.PublishRate), Rate(q.DeliverRate), q.Paused ? "paused" : "-",
            ]), (column, cell) => column == 5 ? Output.StateColour(cell) : null);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Change(string action, string description)
    {
        var queue = new Argument<string>("QUEUE") { Description = "The queue's name" };
        var worker = new Option<string>("--worker") { Description = "The worker's name (tasksctl workers lists them)", Required = true };
        var timeout = WorkerControlCommand.ReplyTimeout();
        var command = new Command(action, $"""
            {description} Needs an admin key; exits 8 when the worker doesn't answer or doesn't consume the queue.
            Example: tasksctl queues {action} emails --worker worker@host-1:4242
            """) { queue, worker, timeout };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var path = $"workers/{Uri.EscapeDataString(parse.GetValue(worker)!)}/queues/{Uri.EscapeDataString(parse.GetValue(queue)!)}/{action}";
            var json = await session.Api.PostAsync(path + WorkerControlCommand.Query(parse, timeout), null, ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else Output.Note($"Worker '{parse.GetValue(worker)}': {TasksClient.Read<ControlResultView>(json).Detail}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Figure(long? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) : "-";

    private static string Rate(double? r) => r is { } v ? v.ToString("0.0", CultureInfo.InvariantCulture) : "-";
}
