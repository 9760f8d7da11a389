using System.Text.RegularExpressions;
using Tasks.Tests.Infrastructure;
using YamlDotNet.RepresentationModel;

namespace Tasks.Tests;

/// <summary>
/// What ships next to the code for running it: docker-compose.yml (no default secrets, only the web port
/// published, an application role that isn't a superuser) and the systemd units. No Docker engine or systemd is
/// needed: the files are read and the units verified. The supervisor ./dev up runs each host under: SuperviseTests.
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
            var (code, output) = await Processes.RunAsync(analyze, "verify", copy);
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
}
