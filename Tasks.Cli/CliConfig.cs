using System.Text.Json;

namespace Tasks.Cli;

/// <summary>
/// Where the API is and which key to send: <c>--url</c>/<c>--key</c>, then <c>TASKS_URL</c>/<c>TASKS_API_KEY</c>, then
/// the file <c>tasksctl login</c> writes (<c>$XDG_CONFIG_HOME/tasks/config.json</c>, else <c>~/.config/tasks/config.json</c>).
/// </summary>
public sealed record CliConfig(string? Url, string? Key)
{
    public const string DefaultUrl = "http://127.0.0.1:5080";

    private static readonly JsonSerializerOptions FileJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static string FilePath()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
        var home = Environment.GetEnvironmentVariable("HOME") is { Length: > 0 } h ? h : Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var root = string.IsNullOrEmpty(xdg) ? Path.Combine(home, ".config") : xdg;
        return Path.Combine(root, "tasks", "config.json");
    }

    public static CliConfig Resolve(string? url, string? key)
    {
        var file = ReadFile();
        return new CliConfig(
            First(url, Environment.GetEnvironmentVariable("TASKS_URL"), file?.Url) ?? DefaultUrl,
            First(key, Environment.GetEnvironmentVariable("TASKS_API_KEY"), file?.Key));
    }

    public static CliConfig? ReadFile()
    {
        var path = FilePath();
        if (!File.Exists(path)) return null;
        try
        {
            return JsonSerializer.Deserialize<CliConfig>(File.ReadAllText(path), FileJson);
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.Usage, $"{path} is not valid JSON ({e.Message}); run tasksctl login again.");
        }
    }

    /// <summary>Writes the file readable by its owner only (it holds a key), replacing any earlier one whole.</summary>
    public void Save()
    {
        var path = FilePath();
        var dir = Path.GetDirectoryName(path)!;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(dir);
        else Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temp = path + ".tmp";
        File.Delete(temp);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options)) JsonSerializer.Serialize(stream, this, FileJson);
        File.Move(temp, path, overwrite: true);
    }

    private static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v));
}
