using System.CommandLine;
using Tasks.Cli.Api;

namespace Tasks.Cli;

/// <summary>What a command runs with: the API client for the resolved URL and key, and where its answer goes.</summary>
public sealed class Session(CliConfig config, TasksClient api, Output output)
{
    public CliConfig Config { get; } = config;
    public TasksClient Api { get; } = api;
    public Output Output { get; } = output;

    /// <summary>
    /// Makes <paramref name="command"/> run <paramref name="action"/> with a session, turning a <see cref="CliException"/>
    /// (every expected failure) into one line on stderr and its exit code.
    /// </summary>
    public static void SetAction(Command command, Func<ParseResult, Session, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var config = CliConfig.Resolve(parse.GetValue(GlobalOptions.Url), parse.GetValue(GlobalOptions.Key));
                using var api = new TasksClient(config, TimeSpan.FromSeconds(parse.GetValue(GlobalOptions.Timeout)));
                return await action(parse, new Session(config, api, new Output(parse.GetValue(GlobalOptions.Json))), ct);
            }
            catch (CliException e)
            {
                Output.Note($"tasksctl: {e.Message}");
                return e.ExitCode;
            }
        });
}
