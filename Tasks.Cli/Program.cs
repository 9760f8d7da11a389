using System.CommandLine;
using Tasks.Cli;
using Tasks.Cli.Commands;

// One small class per command over one API client (Api/TasksClient.cs).
var root = new RootCommand("""
    tasksctl: the Tasks operator's command line, over the Tasks.Web HTTP API.
    Example: tasksctl enqueue demo.sleep --arg seconds=5 --wait
    Exit codes and configuration: docs/cli.md
    """)
{
    EnqueueCommand.Create(),
    StatusCommand.Create(),
    ListCommand.Create(),
    TaskActionCommand.Cancel(),
    TaskActionCommand.Retry(),
    CountsCommand.Create(),
    KeysCommand.Create(),
    SchedulesCommand.Create(),
    WorkersCommand.Create(),
    WorkerControlCommand.Ping(),
    WorkerControlCommand.Shutdown(),
    QueuesCommand.Create(),
    StatsCommand.Create(),
    UsersCommand.Create(),
    LoginCommand.Create(),
};
GlobalOptions.AddTo(root);

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
{
    // One line and the usage code, not the whole help text: the error says what to fix, --help says the rest.
    var path = new List<string>();
    for (var c = parse.CommandResult; c is not null; c = c.Parent as System.CommandLine.Parsing.CommandResult) path.Insert(0, c.Command.Name);
    path[0] = "tasksctl";
    var message = string.Join(" ", parse.Errors[0].Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    await Console.Error.WriteLineAsync($"tasksctl: {message} (see {string.Join(' ', path)} --help)");
    return ExitCodes.Usage;
}
return await parse.InvokeAsync();
