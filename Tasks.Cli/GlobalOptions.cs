using System.CommandLine;

namespace Tasks.Cli;

/// <summary>The options every command takes (recursive on the root command).</summary>
public static class GlobalOptions
{
    public static readonly Option<string> Url = new("--url")
    {
        Description = $"The Tasks.Web address (else TASKS_URL, else the login file, else {CliConfig.DefaultUrl})",
        Recursive = true,
    };

    public static readonly Option<string> Key = new("--key")
    {
        Description = "The API key (else TASKS_API_KEY, else the login file)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print one JSON document on stdout and nothing else",
        Recursive = true,
    };

    public static readonly Option<double> Timeout = new("--timeout")
    {
        Description = "Seconds to wait for each answer from the API",
        DefaultValueFactory = _ => 30,
        Recursive = true,
    };

    public static void AddTo(RootCommand root)
    {
        foreach (var option in new Option[] { Url, Key, Json, Timeout }) root.Options.Add(option);
        Timeout.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<double>() is not (> 0 and <= 3600)) r.AddError("--timeout must be between 0 and 3600 seconds.");
        });
    }
}
