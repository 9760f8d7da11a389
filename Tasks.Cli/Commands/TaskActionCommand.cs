using System.CommandLine;
using System.Text.Json;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl cancel ID...</c> and <c>tasksctl retry ID...</c>: <c>POST /tasks/{id}/cancel|retry</c> for each id. One
/// refused id doesn't stop the others: each refusal is a line on stderr, and the first one's code is the exit code.
/// </summary>
public static class TaskActionCommand
{
    public static Command Cancel() => Create("cancel", "cancel", """
        Cancel tasks: one not started never runs; a running one's token fires (needs an admin key).
        Example: tasksctl cancel 0193c1de-8a4f-7cc2-9d1e-2b0f5a6c7d8e
        """, "cancel requested");

    public static Command Retry() => Create("retry", "retry", """
        Run failed, canceled or expired tasks again (needs an admin key); --failed: every failed task (of a name).
        Example: tasksctl retry 0193c1de-8a4f-7cc2-9d1e-2b0f5a6c7d8e 0193c1de-9b50-7aa1-8c3d-4e5f6a7b8c9d
        Example: tasksctl retry --failed --name reports.generate --yes
        """, "retried", RetryFailed.Options);

    private static Command Create(string name, string action, string description, string done, RetryFailed.OptionSet? bulk = null)
    {
        var ids = new Argument<Guid[]>("ID") { Description = "Task ids", Arity = bulk is null ? ArgumentArity.OneOrMore : ArgumentArity.ZeroOrMore };
        var command = new Command(name, description) { ids };
        bulk?.AddTo(command, ids);
        Session.SetAction(command, async (parse, session, ct) =>
        {
            if (bulk is not null && parse.GetValue(bulk.Failed)) return await RetryFailed.RunAsync(parse, bulk, session, ct);
            var exit = ExitCodes.Ok;
            var items = new List<JsonElement>();
            foreach (var id in parse.GetValue(ids)!)
            {
                try
                {
                    var json = await session.Api.PostAsync($"tasks/{id}/{action}", null, ct);
                    items.Add(json);
                    if (!session.Output.Json) session.Output.Line($"{id}\t{done}\t{TaskView.From(json).State}");
                }
                catch (CliException e) when (e.ExitCode is ExitCodes.NotFound or ExitCodes.Rejected)
                {
                    Output.Note($"tasksctl: {id}: {e.Message}");
                    if (exit == ExitCodes.Ok) exit = e.ExitCode;
                }
            }
            if (session.Output.Json) session.Output.WriteJson(new { items });
            return exit;
        });
        return command;
    }
}
