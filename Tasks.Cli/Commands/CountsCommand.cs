using System.CommandLine;
using System.Globalization;

namespace Tasks.Cli.Commands;

/// <summary><c>tasksctl counts</c>: <c>GET /tasks/counts</c>, tasks per state.</summary>
public static class CountsCommand
{
    public static Command Create()
    {
        var command = new Command("counts", """
            How many tasks are in each state (exact).
            Example: tasksctl counts --json
            """);
        Session.SetAction(command, async (_, session, ct) =>
        {
            var json = await session.Api.GetAsync("tasks/counts", ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else session.Output.Table(["STATE", "TASKS"], json.EnumerateObject().Select(p =>
                (IReadOnlyList<string>)[p.Name, p.Value.GetInt64().ToString(CultureInfo.InvariantCulture)]));
            return ExitCodes.Ok;
        });
        return command;
    }
}
