using System.CommandLine;
using Spectre.Console;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl login</c>: checks the URL and key against the API, then writes them to the config file (mode 0600) that
/// later commands fall back on. The key comes from <c>--key</c>, <c>TASKS_API_KEY</c> or stdin, so it needn't be in the shell's history.
/// </summary>
public static class LoginCommand
{
    public static Command Create()
    {
        var command = new Command("login", $"""
            Check a URL and key, then keep them in {CliConfig.FilePath()} (readable by you only).
            Example: tasksctl login --url http://tasks.internal:5080   (then type or pipe the key)
            """);
        command.SetAction(async (parse, ct) =>
        {
            try
            {
                var url = parse.GetValue(GlobalOptions.Url) ?? Environment.GetEnvironmentVariable("TASKS_URL") ?? CliConfig.ReadFile()?.Url ?? CliConfig.DefaultUrl;
                var key = parse.GetValue(GlobalOptions.Key) ?? Environment.GetEnvironmentVariable("TASKS_API_KEY") ?? await ReadKeyAsync(ct);
                if (string.IsNullOrWhiteSpace(key)) throw new CliException(ExitCodes.Usage, "no API key given (--key, TASKS_API_KEY or stdin).");
                var config = new CliConfig(url, key.Trim());
                using (var api = new TasksClient(config, TimeSpan.FromSeconds(parse.GetValue(GlobalOptions.Timeout))))
                    await api.GetAsync("tasks/counts", ct); // every scope may read: this only proves the URL and key
                config.Save();
                if (parse.GetValue(GlobalOptions.Json)) new Output(true).WriteJson(new { url, path = CliConfig.FilePath() });
                else Output.Note($"Logged in to {url}; saved in {CliConfig.FilePath()}.");
                return ExitCodes.Ok;
            }
            catch (CliException e)
            {
                Output.Note($"tasksctl: {e.Message}");
                return e.ExitCode;
            }
        });
        return command;
    }

    private static async Task<string?> ReadKeyAsync(CancellationToken ct)
    {
        if (!Console.IsInputRedirected)
            return await new TextPrompt<string>("API key:").Secret().ShowAsync(AnsiConsole.Console, ct);
        return await Console.In.ReadLineAsync(ct);
    }
}
