using System.Diagnostics;
using System.Text.RegularExpressions;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>scripts/supervise, which ./dev up runs each host under: restarts with growing delays, gives up on a crash loop, passes SIGTERM on.</summary>
public sealed partial class SuperviseTests
{
    private static readonly string Root = HostProcess.RepositoryRoot();

    [Fact]
    public async Task Supervise_restarts_a_crashing_command_with_growing_delays_and_gives_up_after_repeated_crashes()
    {
        using var dir = new TempDir();
        var (code, output) = await Processes.RunAsync("bash", Supervise, "--name", "dummy", "--delay-ms", "200", "--max-crashes", "4", "--window", "60", "--",
            "bash", "-c", $"date +%s%N >> {dir.File("starts")}; exit 3");

        Assert.Equal(3, code);
        var starts = (await File.ReadAllLinesAsync(dir.File("starts"))).Select(l => long.Parse(l, System.Globalization.CultureInfo.InvariantCulture) / 1_000_000).ToList();
        Assert.Equal(4, starts.Count);
        var delays = RestartDelay().Matches(output).Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal([0.2, 0.4, 0.8], delays);
        for (var i = 1; i < starts.Count; i++)
            Assert.True(starts[i] - starts[i - 1] >= delays[i - 1] * 1000 - 20, $"restart {i} came {starts[i] - starts[i - 1]} ms after the crash, not after {delays[i - 1]} s");
        Assert.Contains("supervise[dummy]: dummy exited with code 3: 4 crashes within 60s; giving up", output);
    }

    [Fact]
    public async Task Supervise_counts_only_the_crashes_within_its_window()
    {
        using var dir = new TempDir();
        // Each restart comes after the window has passed: every crash is the first of its window, none gives up.
        var (code, output) = await Processes.RunAsync("bash", Supervise, "--name", "flaky", "--delay-ms", "1100", "--max-delay-ms", "1100", "--max-crashes", "2", "--window", "1", "--",
            "bash", "-c", $"echo x >> {dir.File("starts")}; [ $(wc -l < {dir.File("starts")}) -ge 3 ] || exit 1");

        Assert.Equal(0, code);
        Assert.Equal(3, (await File.ReadAllLinesAsync(dir.File("starts"))).Length);
        Assert.Equal(2, Regex.Count(output, @"\(crash 1 of 2 allowed within 1s\)"));
        Assert.Contains("flaky exited cleanly; not restarting", output);
        Assert.DoesNotContain("giving up", output);
    }

    [Fact]
    public async Task Supervise_restarts_a_killed_command_and_stops_it_without_restart_on_SIGTERM()
    {
        using var dir = new TempDir();
        var info = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Supervise, "--name", "host", "--delay-ms", "100", "--",
            "bash", "-c", $"trap 'echo stopped >> {dir.File("log")}; exit 0' TERM; echo $$ >> {dir.File("pids")}; while :; do sleep 0.05; done" })
            info.ArgumentList.Add(a);
        using var supervisor = Process.Start(info)!;
        var stderr = supervisor.StandardError.ReadToEndAsync();

        var first = await WaitForLinesAsync(dir.File("pids"), 1);
        using (var child = Process.GetProcessById(int.Parse(first[0], System.Globalization.CultureInfo.InvariantCulture))) child.Kill(); // SIGKILL
        var second = await WaitForLinesAsync(dir.File("pids"), 2); // written once its TERM trap is set

        await Processes.RunAsync("kill", "-TERM", supervisor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await supervisor.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var output = await stderr;

        Assert.Equal(0, supervisor.ExitCode);
        Assert.Contains("host was killed by SIGKILL; restarting in 0.1s", output);
        Assert.Contains("host exited with code 0 after being asked to stop; not restarting", output);
        Assert.Equal(["stopped"], await File.ReadAllLinesAsync(dir.File("log")));
        await Task.Delay(300);
        Assert.Equal(second, await File.ReadAllLinesAsync(dir.File("pids"))); // no third start
        Assert.False(Directory.Exists($"/proc/{second[1]}"), "the command outlived its supervisor");
    }

    [Fact]
    public async Task Supervise_passes_SIGTERM_on_and_exits_with_the_status_of_a_command_that_stops_at_once()
    {
        // Two races, so many supervisors at once: a SIGTERM that comes as supervise starts the command (before it
        // has the command's pid) must still reach the command; a command that exits while supervise is still in its
        // trap is reaped by bash before supervise looks, and supervise must report its status (0), not the
        // interrupted wait's (143).
        for (var round = 0; round < 3; round++)
        {
            var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => StopAtOnceAsync(delayMs: i % 2 * 100)));
            Assert.All(outcomes, o => Assert.Equal("0: supervise[quick]: quick exited with code 0 after being asked to stop; not restarting", o));
        }
    }

    /// <summary>Starts supervise on a command that exits 0 at once on SIGTERM, sends it SIGTERM; its exit code and stderr.</summary>
    private static async Task<string> StopAtOnceAsync(int delayMs)
    {
        using var dir = new TempDir();
        var info = new ProcessStartInfo("bash") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { Supervise, "--name", "quick", "--",
            "bash", "-c", $"trap 'exit 0' TERM; echo $$ > {dir.File("pid")}; while :; do sleep 0.05 & wait $!; done" })
            info.ArgumentList.Add(a);
        using var supervisor = Process.Start(info)!;
        try
        {
            var stderr = supervisor.StandardError.ReadToEndAsync();
            await WaitForLinesAsync(dir.File("pid"), 1);
            await Task.Delay(delayMs);
            await Processes.RunAsync("kill", "-TERM", supervisor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try { await supervisor.WaitForExitAsync(timeout.Token); }
            catch (OperationCanceledException) { return "still running 10 s after SIGTERM"; }
            return $"{supervisor.ExitCode}: {(await stderr).Trim()}";
        }
        finally
        {
            if (!supervisor.HasExited) supervisor.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task Supervise_does_not_restart_a_command_that_exits_cleanly()
    {
        using var dir = new TempDir();
        var (code, output) = await Processes.RunAsync("bash", Supervise, "--name", "once", "--", "bash", "-c", $"echo x >> {dir.File("starts")}");
        Assert.Equal(0, code);
        Assert.Single(await File.ReadAllLinesAsync(dir.File("starts")));
        Assert.Equal("supervise[once]: once exited cleanly; not restarting", output.Trim());
    }

    private static string Supervise => Path.Combine(Root, "scripts", "supervise");

    [GeneratedRegex(@"restarting in ([0-9.]+)s")]
    private static partial Regex RestartDelay();

    private static async Task<string[]> WaitForLinesAsync(string path, int count)
    {
        for (var i = 0; i < 100; i++)
        {
            if (File.Exists(path) && await File.ReadAllLinesAsync(path) is { } lines && lines.Length >= count) return lines;
            await Task.Delay(50);
        }
        throw new TimeoutException($"{path} did not reach {count} lines");
    }

    private sealed class TempDir : IDisposable
    {
        private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("supervise-");
        public string File(string name) => Path.Combine(_dir.FullName, name);
        public void Dispose() => _dir.Delete(recursive: true);
    }
}
