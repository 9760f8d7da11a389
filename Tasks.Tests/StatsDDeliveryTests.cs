using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Tasks.Core.Telemetry;
using static Tasks.Tests.Infrastructure.StatsD;

namespace Tasks.Tests;

/// <summary>
/// How the StatsD exporter delivers: lines packed into packets, the timer, stopping, a server that fails, and its
/// settings. Each test has its own meter; flushes are driven by hand except where the timer is under test.
/// </summary>
public sealed class StatsDDeliveryTests
{
    [Theory]
    [InlineData(67, 2)] // four 16-byte lines and three '\n' fill a packet exactly
    [InlineData(66, 3)] // one byte short: three to a packet
    public async Task Lines_are_packed_into_packets_no_larger_than_MaxPacketBytes(int maxPacketBytes, int packetCount)
    {
        await using var h = await Harness.StartAsync(new() { ["MaxPacketBytes"] = maxPacketBytes.ToString(CultureInfo.InvariantCulture) });
        var counter = h.Meter.CreateCounter<int>("c");
        var expected = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            counter.Add(i + 1, new KeyValuePair<string, object?>("n", i));
            expected.Add($"tasks.c:{i + 1}|c|#n:{i}");
        }

        await h.Exporter.FlushAsync(Ct);

        var packets = await h.Server.ReceivePacketsAsync(Ct);
        Assert.Equal(packetCount, packets.Count);
        Assert.All(packets, p => Assert.InRange(p.Length, 1, maxPacketBytes));
        Assert.Equal(expected.Order(StringComparer.Ordinal), packets.SelectMany(p => p.Split('\n')).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_line_longer_than_MaxPacketBytes_is_not_split_but_sent_alone()
    {
        await using var h = await Harness.StartAsync(new() { ["MaxPacketBytes"] = "64" });
        var counter = h.Meter.CreateCounter<int>("c");
        var huge = new string('x', 100);
        counter.Add(2, new KeyValuePair<string, object?>("n", huge));
        counter.Add(1, new KeyValuePair<string, object?>("n", "a"));
        counter.Add(3, new KeyValuePair<string, object?>("n", "b"));

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(
            ["tasks.c:1|c|#n:a\ntasks.c:3|c|#n:b", $"tasks.c:2|c|#n:{huge}"],
            (await h.Server.ReceivePacketsAsync(Ct)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Nothing_is_sent_when_Host_is_empty()
    {
        await using var h = await Harness.StartAsync(new() { ["Host"] = "", ["FlushIntervalMilliseconds"] = "50" });
        h.Meter.CreateCounter<int>("runs").Add(1);
        h.Meter.CreateObservableGauge("depth", () => 1);

        // Off means no timer loop either: the background task ends straight away.
        await h.Exporter.ExecuteTask!.WaitAsync(TimeSpan.FromSeconds(5), Ct);
        await h.Exporter.FlushAsync(Ct);
        await h.Exporter.StopAsync(Ct);

        await h.Server.AssertSilentAsync(Ct);
    }

    [Fact]
    public async Task The_timer_flushes_without_being_asked()
    {
        await using var h = await Harness.StartAsync(new() { ["FlushIntervalMilliseconds"] = "50" });
        h.Meter.CreateCounter<int>("runs").Add(6);

        Assert.Equal(["tasks.runs:6|c"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Stopping_sends_what_is_left_and_then_stops_listening()
    {
        await using var h = await Harness.StartAsync();
        var runs = h.Meter.CreateCounter<int>("runs");
        runs.Add(2);

        await h.Exporter.StopAsync(Ct);
        Assert.Equal(["tasks.runs:2|c"], await h.Server.ReceiveLinesAsync(Ct));

        runs.Add(1);
        await h.Exporter.FlushAsync(Ct);
        await h.Server.AssertSilentAsync(Ct);
    }

    [Fact]
    public async Task Send_failures_are_swallowed_and_sending_resumes_when_the_server_is_back()
    {
        await using var h = await Harness.StartAsync();
        var runs = h.Meter.CreateCounter<int>("runs");
        var port = h.Server.Port;

        // Nobody listening: the kernel answers "port unreachable", which the next send on the socket reports.
        h.Server.Dispose();
        for (var i = 0; i < 3; i++)
        {
            runs.Add(1);
            await h.Exporter.FlushAsync(Ct);
            await Task.Delay(20, Ct);
        }
        Assert.False(h.Exporter.ExecuteTask!.IsCompleted);

        using var back = new Server(port);
        runs.Add(4);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.runs:4|c"], await back.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Send_failures_never_throw_and_are_logged_at_debug_at_most_once_a_minute()
    {
        // Broadcast without SO_BROADCAST: the kernel refuses every send, at once and for sure.
        var clock = new ManualClock();
        var logs = new ListLogger();
        await using var h = await Harness.StartAsync(new() { ["Host"] = "255.255.255.255" }, clock: clock, logger: logs);
        var runs = h.Meter.CreateCounter<int>("runs");

        for (var i = 0; i < 3; i++)
        {
            runs.Add(1);
            await h.Exporter.FlushAsync(Ct);
        }
        clock.Advance(TimeSpan.FromSeconds(61));
        runs.Add(1);
        await h.Exporter.FlushAsync(Ct);

        var failures = logs.Entries.Where(e => e.Exception is not null).ToList();
        Assert.Equal(2, failures.Count);
        Assert.All(failures, e => Assert.Equal(LogLevel.Debug, e.Level));
        Assert.Contains("(1 failures", failures[0].Message, StringComparison.Ordinal);
        Assert.Contains("(3 failures", failures[1].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SampleRate", "0")]
    [InlineData("SampleRate", "1.5")]
    [InlineData("Port", "0")]
    [InlineData("MaxPacketBytes", "70000")]
    [InlineData("FlushIntervalMilliseconds", "0")]
    [InlineData("Prefix", "bad prefix")]
    [InlineData("Prefix", "trailing.")]
    public void Bad_settings_stop_start_up(string key, string value)
    {
        using var services = Harness.Services(new() { ["Host"] = "127.0.0.1", [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<StatsDOptions>>().Value);
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Meters_default_to_Tasks_and_configured_names_replace_it()
    {
        using var defaults = Harness.Services([]);
        Assert.Equal(["Tasks"], defaults.GetRequiredService<IOptions<StatsDOptions>>().Value.ResolvedMeters);

        using var configured = Harness.Services(new() { ["Meters:0"] = "A", ["Meters:1"] = "B" });
        Assert.Equal(["A", "B"], configured.GetRequiredService<IOptions<StatsDOptions>>().Value.ResolvedMeters);
    }
}
