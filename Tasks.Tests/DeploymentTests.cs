using System.Diagnostics;
using System.Text.RegularExpressions;
using Tasks.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Tasks.Tests;

/// <summary>
/// What ships next to the code for running it: docker-compose.yml (no default secrets, only the web port
/// published, an application role that isn't a superuser), the systemd units, and the supervisor ./dev up runs
/// each host under. No Docker engine or systemd is needed: the files are read, the units verified, the supervisor run.
/// </summary>
public sealed partial class DeploymentTests
{
    private static readonly string Root = HostProcess.RepositoryRoot();

    // ------------------------------------------------------------------------------------------ docker-compose.yml

    [Fact]
    public void Compose_publishes_only_the_web_port()
    {
        var services = ComposeServices(Path.Combine(Root, "docker-compose.yml"));
        var published = services.Where(s => s.Value.Children.ContainsKey("ports")).Select(s => s.Key).ToList();
        Assert.Equal(["web"], published);
        var web = Assert.Single((YamlSequenceNode)services["web"]["ports"]);
        Assert.EndsWith(":8080", ((YamlScalarNode)web).Value, StringComparison.Ordinal);

        // Worker and scheduler listen beyond loopback only inside the compose network, for their health checks.
        foreach (var name in new[] { "worker", "scheduler" })
        {
            Assert.Equal("http://0.0.0.0:8080", EnvironmentOf(services[name])["Health__Urls"]);
            Assert.Contains("http://localhost:8080/health/ready", string.Join(' ', ((YamlSequenceNode)services[name]["healthcheck"]["test"]).Select(n => ((YamlScalarNode)n).Value)));
        }

        // ./dev up's servers under Docker: published for the local hosts, on loopback only.
        var dev = ComposeServices(Path.Combine(Root, "deploy", "compose.dev.yml"));
        var ports = dev.SelectMany(s => (YamlSequenceNode)s.Value["ports"]).Select(p => ((YamlScalarNode)p).Value!).ToList();
        Assert.NotEmpty(ports);
        Assert.All(ports, p => Assert.StartsWith("127.0.0.1:", p, StringComparison.Ordinal));
    }

    [Fact]
    public void Compose_requires_every_secret_and_has_no_default_for_any()
    {
        var path = Path.Combine(Root, "docker-compose.yml");
        var text = File.ReadAllText(path);
        var secrets = Interpolation().Matches(text).Where(m => SecretName().IsMatch(m.Groups["name"].Value)).ToList();
        Assert.NotEmpty(secrets);
        Assert.All(secrets, m => Assert.StartsWith(":?", m.Groups["rest"].Value, StringComparison.Ordinal));

        var services = ComposeServices(path);
        var checkedValues = 0;
        foreach (var (service, node) in services)
        {
            foreach (var (key, value) in EnvironmentOf(node))
            {
                if (SecretName().IsMatch(key))
                {
                    Assert.True(Required().IsMatch(value), $"{service}: {key} is '{value}', not ${{VAR:?message}}");
                    checkedValues++;
                }
                if (key == "ConnectionStrings__Tasks")
                {
                    Assert.Matches(@"(^|;)Password=\$\{\w+:\?[^}]+\}(;|$)", value);
                    checkedValues++;
                }
                if (key == "ConnectionStrings__RabbitMq")
                {
                    Assert.Matches(@"^amqp://\w+:\$\{\w+:\?[^}]+\}@", value);
                    checkedValues++;
                }
            }
        }
        Assert.True(checkedValues >= 10, $"only {checkedValues} secrets found: the test no longer reads the file right");
    }

    [Fact]
    public void Compose_hosts_and_migrations_use_a_role_that_is_not_the_superuser()
    {
        var services = ComposeServices(Path.Combine(Root, "docker-compose.yml"));
        var postgres = EnvironmentOf(services["postgres"]);
        var superuser = postgres.GetValueOrDefault("POSTGRES_USER", "postgres");
        foreach (var name in new[] { "migrate", "web", "worker", "scheduler" })
        {
            var user = new Npgsql.NpgsqlConnectionStringBuilder(EnvironmentOf(services[name])["ConnectionStrings__Tasks"]).Username;
            Assert.Equal("tasks", user);
            Assert.NotEqual(superuser, user);
        }

        // The postgres image runs the mounted init script as the superuser on first start: it makes the role.
        var mount = ((YamlSequenceNode)services["postgres"]["volumes"]).Select(v => ((YamlScalarNode)v).Value!)
            .Single(v => v.Contains("/docker-entrypoint-initdb.d/", StringComparison.Ordinal));
        var script = File.ReadAllText(Path.Combine(Root, mount.Split(':')[0]));
        Assert.Matches(@"CREATE ROLE tasks LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE", script);
        Assert.DoesNotMatch(@"(?<!NO)SUPERUSER", script);
        Assert.Contains("CREATE DATABASE tasks OWNER tasks", script);

        // ./dev up without Docker makes the same role itself, and puts one made earlier right.
        var dev = File.ReadAllLines(Path.Combine(Root, "dev.d", "up.sh")).Where(l => l.Contains(" ROLE tasks ", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, dev.Count);
        Assert.All(dev, l => Assert.Contains("NOSUPERUSER", l));
    }

    private static Dictionary<string, YamlMappingNode> ComposeServices(string path)
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(path)) yaml.Load(reader);
        var services = (YamlMappingNode)((YamlMappingNode)yaml.Documents[0].RootNode)["services"];
        return services.Children.ToDictionary(s => ((YamlScalarNode)s.Key).Value!, s => (YamlMappingNode)s.Value);
    }

    /// <summary>A service's environment, with what it merges in (<c>&lt;&lt;: *anchor</c>).</summary>
    private static Dictionary<string, string> EnvironmentOf(YamlMappingNode service)
    {
        var result = new Dictionary<string, string>();
        if (!service.Children.TryGetValue("environment", out var node)) return result;
        foreach (var (key, value) in ((YamlMappingNode)node).Children)
        {
            var name = ((YamlScalarNode)key).Value!;
            if (name == "<<")
                foreach (var (k, v) in ((YamlMappingNode)value).Children) result.TryAdd(((YamlScalarNode)k).Value!, ((YamlScalarNode)v).Value!);
            else result[name] = ((YamlScalarNode)value).Value!;
        }
        return result;
    }

    [GeneratedRegex(@"\$\{(?<name>\w+)(?<rest>[^}]*)\}")]
    private static partial Regex Interpolation();

    [GeneratedRegex("PASS|KEY|SECRET", RegexOptions.IgnoreCase)]
    private static partial Regex SecretName();

    [GeneratedRegex(@"^\$\{\w+:\?[^}]+\}$")]
    private static partial Regex Required();

    // ---------------------------------------------------------------------------------------------------- systemd

    [Theory]
    [InlineData("web", "Tasks.Web")]
    [InlineData("worker", "Tasks.Worker")]
    [InlineData("scheduler", "Tasks.Scheduler")]
    public async Task Systemd_units_verify_and_restart_stop_and_confine_the_hosts(string host, string project)
    {
        var path = Path.Combine(Root, "deploy", "systemd", $"tasks-{host}.service");
        var unit = ReadUnit(path);
        Assert.Equal("always", unit["Service"]["Restart"].Single());
        Assert.Equal("SIGTERM", unit["Service"]["KillSignal"].Single());
        Assert.Equal($"/usr/bin/dotnet /opt/tasks/{project}/{project}.dll", unit["Service"]["ExecStart"].Single());
        Assert.StartsWith("/etc/tasks/", unit["Service"]["EnvironmentFile"].Single(), StringComparison.Ordinal);
        Assert.Equal("tasks", unit["Service"]["User"].Single());
        Assert.Equal("true", unit["Service"]["NoNewPrivileges"].Single());
        Assert.Equal("strict", unit["Service"]["ProtectSystem"].Single());
        Assert.Equal("multi-user.target", unit["Install"]["WantedBy"].Single());
        // The worker's is past its own shutdown (grace for running tasks, then for their tokens), or systemd kills it mid-way.
        var timeout = int.Parse(unit["Service"]["TimeoutStopSec"].Single(), System.Globalization.CultureInfo.InvariantCulture);
        var defaults = new Tasks.Worker.WorkerOptions();
        Assert.True(timeout > (host == "worker" ? defaults.ShutdownGraceSeconds + defaults.StopGraceSeconds : 10), $"TimeoutStopSec={timeout}");

        // systemd's own parser (no running systemd needed); the dotnet of this machine wherever it lives.
        var dir = Directory.CreateTempSubdirectory("units-");
        try
        {
            var copy = Path.Combine(dir.FullName, Path.GetFileName(path));
            await File.WriteAllTextAsync(copy, (await File.ReadAllTextAsync(path)).Replace("/usr/bin/dotnet", Environment.ProcessPath, StringComparison.Ordinal));
            const string analyze = "/usr/bin/systemd-analyze";
            Assert.True(File.Exists(analyze), "systemd-analyze is not installed: ./dev test installs the Debian 'systemd' package.");
            var (code, output) = await RunAsync(analyze, "verify", copy);
            Assert.True(code == 0 && output.Length == 0, $"systemd-analyze verify: exit {code}\n{output}");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static Dictionary<string, Dictionary<string, List<string>>> ReadUnit(string path)
    {
        var sections = new Dictionary<string, Dictionary<string, List<string>>>();
        Dictionary<string, List<string>>? current = null;
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[') sections[line.Trim('[', ']')] = current = [];
            else if (current is not null && line.Split('=', 2) is [var key, var value])
            {
                if (!current.TryGetValue(key, out var values)) current[key] = values = [];
                values.Add(value);
            }
        }
        return sections;
    }

    // ---------------------------------------------------------------------------------------------- supervise

    [Fact]
    public async Task Supervise_restarts_a_crashing_command_with_growing_delays_and_gives_up_after_repeated_crashes()
    {
        using var dir = new TempDir();
        var (code, output) = await RunAsync("bash", Supervise, "--name", "dummy", "--delay-ms", "200", "--max-crashes", "4", "--window", "60", "--",
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
        var (code, output) = await RunAsync("bash", Supervise, "--name", "flaky", "--delay-ms", "1100", "--max-delay-ms", "1100", "--max-crashes", "2", "--window", "1", "--",
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

        await RunAsync("kill", "-TERM", supervisor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
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
            await RunAsync("kill", "-TERM", supervisor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
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
        var (code, output) = await RunAsync("bash", Supervise, "--name", "once", "--", "bash", "-c", $"echo x >> {dir.File("starts")}");
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

    private static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return (process.ExitCode, await stdout + await stderr);
    }

    private sealed class TempDir : IDisposable
    {
        private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("supervise-");
        public string File(string name) => Path.Combine(_dir.FullName, name);
        public void Dispose() => _dir.Delete(recursive: true);
    }
}
