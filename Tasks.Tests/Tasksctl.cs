using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The built <c>Tasks.Cli.dll</c> (<c>tasksctl</c>) run as a process, as an operator runs it: its own config home (a
/// fresh temporary directory, so no login file of the machine's leaks in), no <c>TASKS_*</c> variables unless given.
/// </summary>
public sealed class Tasksctl : IDisposable
{
    public sealed record Outcome(int ExitCode, string StandardOutput, string StandardError)
    {
        /// <summary>The one JSON document a successful <c>--json</c> run printed.</summary>
        public JsonElement Json()
        {
            Assert.True(ExitCode == 0, StandardError);
            return JsonDocument.Parse(StandardOutput).RootElement;
        }

        /// <summary>A refusal as the CLI promises it: the exit code, nothing on stdout, one line on stderr saying <paramref name="message"/>.</summary>
        public void AssertRefused(int exitCode, string message, string[] args)
        {
            Assert.True(ExitCode == exitCode, $"tasksctl {string.Join(' ', args)}: exit {ExitCode}, stderr {StandardError}");
            Assert.Equal("", StandardOutput);
            Assert.Contains(message, Assert.Single(Lines(StandardError)));
        }
    }

    public static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string ConfigHome { get; } = Directory.CreateTempSubdirectory("tasksctl-").FullName;

    public Dictionary<string, string> Environment { get; } = [];

    public Task<Outcome> RunAsync(params string[] args) => RunWithInputAsync(null, args);

    public async Task<Outcome> RunWithInputAsync(string? stdin, params string[] args)
    {
        using var process = Start(args);
        if (stdin is not null) await process.StandardInput.WriteLineAsync(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await WaitAsync(process);
        return new Outcome(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts tasksctl, waits for a line on stderr containing <paramref name="cue"/>, sends it SIGINT (Ctrl-C), and waits for its end.</summary>
    public async Task<Outcome> InterruptAsync(string cue, params string[] args)
    {
        // A process started in the background (as a test run may be) inherits SIGINT ignored, as a terminal's
        // foreground process never has it: coreutils' env gives it back its default.
        using var process = Start(args, ["env", "--default-signal=INT"]);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = new StringBuilder();
        while (await process.StandardError.ReadLineAsync() is { } line)
        {
            stderr.AppendLine(line);
            if (line.Contains(cue, StringComparison.Ordinal)) break;
        }
        using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        stderr.Append(await process.StandardError.ReadToEndAsync());
        await WaitAsync(process);
        return new Outcome(process.ExitCode, await stdout, stderr.ToString());
    }

    private Process Start(string[] args, string[]? prefix = null)
    {
        var dll = Path.Combine(HostProcess.RepositoryRoot(), "Tasks.Cli", "bin", HostProcess.Configuration, "net10.0", "Tasks.Cli.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var info = new ProcessStartInfo(prefix?[0] ?? "dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var p in prefix?[1..] ?? []) info.ArgumentList.Add(p);
        if (prefix is not null) info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var name in new[] { "TASKS_URL", "TASKS_API_KEY", "NO_COLOR" }) info.Environment.Remove(name);
        info.Environment["XDG_CONFIG_HOME"] = ConfigHome;
        foreach (var (k, v) in Environment) info.Environment[k] = v;
        return Process.Start(info)!;
    }

    private static async Task WaitAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
    }

    public void Dispose() => Directory.Delete(ConfigHome, recursive: true);
}
