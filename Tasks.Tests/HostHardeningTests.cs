using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// What the hosts show and tell, run as operators run them: where worker and scheduler listen, what readiness says
/// to a caller (and what it leaves to the log), and how much a host at rest writes.
/// </summary>
public sealed class HostHardeningTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
{
    [Fact]
    public async Task Worker_health_port_listens_on_loopback_unless_Health_Urls_says_otherwise()
    {
        async Task<(HostProcess Worker, int Port)> StartAsync(bool everywhere)
        {
            var port = HostProcess.FreePort();
            var env = stack.Environment();
            env["Health__Port"] = port.ToString(CultureInfo.InvariantCulture);
            if (everywhere) env["Health__Urls"] = $"http://0.0.0.0:{port}";
            var queue = "bind-" + Guid.NewGuid().ToString("N")[..8];
            return (await HostProcess.StartOnOwnUrlsAsync("Tasks.Worker", env, port, "--queues", queue), port);
        }
        var starting = new[] { StartAsync(everywhere: false), StartAsync(everywhere: true) };
        await StartedOrStoppedAsync(starting.Select(async t => (await t).Worker).ToArray());
        var started = starting.Select(t => t.Result).ToArray();
        await using var local = started[0].Worker;
        await using var everywhere = started[1].Worker;

        // The kernel's own list of listening sockets on each port (IPv4 and IPv6), by local address.
        Assert.Equal(["0100007F"], ListeningAddresses(started[0].Port)); // 127.0.0.1
        Assert.Equal(["00000000"], ListeningAddresses(started[1].Port)); // 0.0.0.0
    }

    /// <summary>Local addresses (hex, as /proc/net/tcp writes them) of the sockets listening on <paramref name="port"/>.</summary>
    private static List<string> ListeningAddresses(int port)
    {
        var suffix = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        return new[] { "/proc/net/tcp", "/proc/net/tcp6" }
            .Where(File.Exists)
            .SelectMany(File.ReadLines)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length > 3 && f[1].EndsWith(suffix, StringComparison.Ordinal) && f[3] == "0A") // 0A: LISTEN
            .Select(f => f[1][..^suffix.Length])
            .ToList();
    }

    [Fact]
    public async Task Readiness_names_a_failing_check_without_its_exception_which_goes_to_the_log_once()
    {
        var pgPort = new Npgsql.NpgsqlConnectionStringBuilder(stack.Postgres).Port;
        await using var proxy = new TcpProxy(pgPort);
        var env = stack.Environment();
        env["ConnectionStrings__Tasks"] = new Npgsql.NpgsqlConnectionStringBuilder(stack.Postgres) { Port = proxy.Port }.ConnectionString;
        await using var web = await HostProcess.StartAsync("Tasks.Web", env);
        using var http = new HttpClient { BaseAddress = web.Address };

        proxy.Stop();
        var body = await WaitForReadinessAsync(http, HttpStatusCode.ServiceUnavailable);
        for (var i = 0; i < 4; i++) body = await WaitForReadinessAsync(http, HttpStatusCode.ServiceUnavailable);

        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal("Unhealthy", json.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
        foreach (var leak in new[] { "Exception", "Npgsql", "Failed", "refused", "stream", " at ", "127.0.0.1", proxy.Port.ToString(CultureInfo.InvariantCulture) })
            Assert.DoesNotContain(leak, body, StringComparison.OrdinalIgnoreCase);

        // The operator finds why in the log: once, with the exception, not once per probe.
        var warnings = web.Output.Split('\n').Where(l => l.Contains("Health check postgres is Unhealthy", StringComparison.Ordinal)).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains("WRN", warning);
        Assert.Contains("NpgsqlException", web.Output);

        proxy.Start();
        await WaitForReadinessAsync(http, HttpStatusCode.OK);
        Assert.Contains("Health check postgres passes again", web.Output);
    }

    [Fact]
    public async Task Hosts_at_rest_write_no_log_lines()
    {
        var env = stack.Environment(); // with the management URL: the scheduler polls queue depths over HTTP
        var queue = "quiet-" + Guid.NewGuid().ToString("N")[..8];
        // At rest means a fresh deployment: workers the class's other tests stopped would be taken offline (a Warning).
        await stack.ExecuteAsync("DELETE FROM workers");
        var hosts = await StartedOrStoppedAsync(
            HostProcess.StartAsync("Tasks.Web", env),
            HostProcess.StartAsync("Tasks.Worker", env, "--queues", queue),
            HostProcess.StartAsync("Tasks.Scheduler", env));
        await using var web = hosts[0];
        await using var worker = hosts[1];
        await using var scheduler = hosts[2];
        // StartAsync returned once each was ready; start-up's last lines (bus started, host lifetime) may come later,
        // later still on a loaded machine.
        await QuietAsync(hosts, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));

        var before = hosts.Select(h => h.Output.Length).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(6)); // more than a backlog poll's interval (5 s)
        for (var i = 0; i < hosts.Length; i++)
            Assert.True(hosts[i].Output.Length == before[i], $"host {i} (web, worker, scheduler) wrote at rest:\n{hosts[i].Output[before[i]..]}");

        // The polls did happen: the queue-depth gauge comes from the management API.
        using var http = new HttpClient { BaseAddress = scheduler.Address };
        Assert.Contains("tasks_queue_depth", await http.GetStringAsync("/metrics"));
    }

    /// <summary>
    /// Until no host has written for <paramref name="quiet"/> (shorter than a backlog poll's 5 s, so a host that logs per
    /// poll still gets there and is caught after), or <paramref name="limit"/> has passed.
    /// </summary>
    private static async Task QuietAsync(HostProcess[] hosts, TimeSpan quiet, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        var lengths = hosts.Select(h => h.Output.Length).ToArray();
        var since = clock.Elapsed;
        while (clock.Elapsed - since < quiet && clock.Elapsed < limit)
        {
            await Task.Delay(200);
            var now = hosts.Select(h => h.Output.Length).ToArray();
            if (!now.SequenceEqual(lengths)) (lengths, since) = (now, clock.Elapsed);
        }
    }

    /// <summary>Hosts started together; if one fails, the others are stopped before the failure is thrown.</summary>
    private static async Task<HostProcess[]> StartedOrStoppedAsync(params Task<HostProcess>[] starting)
    {
        try
        {
            return await Task.WhenAll(starting);
        }
        catch
        {
            foreach (var t in starting)
                if (t.IsCompletedSuccessfully) await t.Result.DisposeAsync();
            throw;
        }
    }

    private static async Task<string> WaitForReadinessAsync(HttpClient http, HttpStatusCode expected)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await http.GetAsync("/health/ready");
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == expected) return body;
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), $"readiness stayed {(int)response.StatusCode}: {body}");
            await Task.Delay(250);
        }
    }
}
