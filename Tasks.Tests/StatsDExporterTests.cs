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

namespace Tasks.Tests;

/// <summary>
/// The StatsD exporter against a UDP socket standing in for the server. Each test has its own meter name, so
/// tests running in parallel (and the app's own "Tasks" meter) never show up in another test's packets. Flushes
/// are driven by hand (the timer is set to an hour) except where the timer itself is under test.
/// </summary>
public sealed class StatsDExporterTests
{
    private const int Hour = 3_600_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Counter_increments_are_summed_per_flush_and_sent_as_one_line()
    {
        await using var h = await Harness.StartAsync();
        var enqueued = h.Meter.CreateCounter<long>("tasks.enqueued");

        enqueued.Add(1, new("task.queue", "default"), new("task.name", "demo.echo"));
        enqueued.Add(2, new("task.name", "demo.echo"), new("task.queue", "default"));
        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.tasks.enqueued:3|c|#task.name:demo.echo,task.queue:default"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Counter_starts_from_zero_after_each_flush_and_is_silent_when_unchanged()
    {
        await using var h = await Harness.StartAsync();
        var runs = h.Meter.CreateCounter<int>("runs");

        runs.Add(5);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.runs:5|c"], await h.Server.ReceiveLinesAsync(Ct));

        await h.Exporter.FlushAsync(Ct);
        await h.Server.AssertSilentAsync(Ct);

        runs.Add(2);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.runs:2|c"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Each_tag_set_is_its_own_series()
    {
        await using var h = await Harness.StartAsync();
        var failed = h.Meter.CreateCounter<double>("failed");

        failed.Add(1, new KeyValuePair<string, object?>("queue", "a"));
        failed.Add(1.5, new KeyValuePair<string, object?>("queue", "b"));
        failed.Add(1, new KeyValuePair<string, object?>("queue", "a"));
        failed.Add(4);
        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(
            ["tasks.failed:1.5|c|#queue:b", "tasks.failed:2|c|#queue:a", "tasks.failed:4|c"],
            (await h.Server.ReceiveLinesAsync(Ct)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Histogram_values_are_sent_one_line_each_as_ms_for_time_units_else_h()
    {
        await using var h = await Harness.StartAsync();
        var seconds = h.Meter.CreateHistogram<double>("task.duration", unit: "s");
        var millis = h.Meter.CreateHistogram<int>("publish.latency", unit: "ms");
        var plain = h.Meter.CreateHistogram<long>("batch.size");

        seconds.Record(0.25, new KeyValuePair<string, object?>("task.name", "demo.echo"));
        seconds.Record(1.5, new KeyValuePair<string, object?>("task.name", "demo.echo"));
        millis.Record(12);
        plain.Record(3);
        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(
            [
                "tasks.task.duration:250|ms|#task.name:demo.echo",
                "tasks.task.duration:1500|ms|#task.name:demo.echo",
                "tasks.publish.latency:12|ms",
                "tasks.batch.size:3|h",
            ],
            await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Observable_gauge_is_polled_at_each_flush_and_sends_its_last_value()
    {
        await using var h = await Harness.StartAsync();
        var depth = 7;
        h.Meter.CreateObservableGauge<int>("queue.depth", () => new Measurement<int>(depth, new KeyValuePair<string, object?>("queue", "default")));

        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.queue.depth:7|g|#queue:default"], await h.Server.ReceiveLinesAsync(Ct));

        depth = 9;
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.queue.depth:9|g|#queue:default"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Negative_gauge_is_zeroed_first_in_the_same_packet_because_a_sign_means_relative()
    {
        await using var h = await Harness.StartAsync();
        h.Meter.CreateObservableGauge("skew", () => -2.5);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.skew:0|g\ntasks.skew:-2.5|g"], await h.Server.ReceivePacketsAsync(Ct));
    }

    [Fact]
    public async Task A_failing_observable_callback_does_not_stop_the_others_or_the_flush()
    {
        await using var h = await Harness.StartAsync();
        h.Meter.CreateObservableGauge("broken", (Func<int>)(() => throw new InvalidOperationException("boom")));
        h.Meter.CreateObservableGauge("fine", () => 1);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.fine:1|g"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Observable_counter_sends_the_change_since_the_last_flush()
    {
        await using var h = await Harness.StartAsync();
        long total = 10;
        h.Meter.CreateObservableCounter("gc.count", () => total);

        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.gc.count:10|c"], await h.Server.ReceiveLinesAsync(Ct));

        total = 15;
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.gc.count:5|c"], await h.Server.ReceiveLinesAsync(Ct));

        await h.Exporter.FlushAsync(Ct);
        await h.Server.AssertSilentAsync(Ct);

        // Went down: the source restarted, so all of the new total is new.
        total = 3;
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.gc.count:3|c"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task UpDownCounter_sends_its_running_total_as_a_gauge()
    {
        await using var h = await Harness.StartAsync();
        var running = h.Meter.CreateUpDownCounter<int>("running");

        running.Add(3);
        running.Add(-1);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.running:2|g"], await h.Server.ReceiveLinesAsync(Ct));

        running.Add(-5);
        await h.Exporter.FlushAsync(Ct);
        Assert.Equal(["tasks.running:0|g", "tasks.running:-3|g"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Observable_up_down_counter_sends_the_observed_value_as_a_gauge()
    {
        await using var h = await Harness.StartAsync();
        h.Meter.CreateObservableUpDownCounter("connections", () => 4);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.connections:4|g"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Theory]
    [InlineData("", "runs:1|c")]
    [InlineData("app.worker-1", "app.worker-1.runs:1|c")]
    public async Task Prefix_is_joined_with_a_dot_and_may_be_empty(string prefix, string line)
    {
        await using var h = await Harness.StartAsync(new() { ["Prefix"] = prefix });
        h.Meter.CreateCounter<int>("runs").Add(1);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal([line], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Names_and_tags_are_sanitised_and_numbers_are_invariant()
    {
        await using var h = await Harness.StartAsync();
        var counter = h.Meter.CreateCounter<double>("http/requests total");

        counter.Add(0.5, new("route", "/api/v1:tasks,x|y"), new("ok", true), new("ratio", 1.25), new("empty", null));
        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(
            ["tasks.http_requests_total:0.5|c|#empty:,ok:true,ratio:1.25,route:_api_v1_tasks_x_y"],
            await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Only_listed_meters_are_exported()
    {
        await using var h = await Harness.StartAsync();
        using var other = new Meter(h.Meter.Name + ".other");
        other.CreateCounter<int>("ignored").Add(1);
        h.Meter.CreateCounter<int>("kept").Add(1);

        await h.Exporter.FlushAsync(Ct);

        Assert.Equal(["tasks.kept:1|c"], await h.Server.ReceiveLinesAsync(Ct));
    }

    [Fact]
    public async Task Sampled_histogram_values_carry_the_rate_and_counters_stay_exact()
    {
        // The sampler's draws in order: a value goes when its draw is below the rate.
        var draws = new Queue<double>([0.1, 0.7, 0.49, 0.5]);
        await using var h = await Harness.StartAsync(new() { ["SampleRate"] = "0.5" }, draws.Dequeue);
        var latency = h.Meter.CreateHistogram<double>("latency", unit: "ms");
        var runs = h.Meter.CreateCounter<int>("runs");

        foreach (var value in new[] { 1.0, 2.0, 3.0, 4.0 })
        {
            latency.Record(value, new KeyValuePair<string, object?>("queue", "default"));
            runs.Add(1);
        }
        await h.Exporter.FlushAsync(Ct);

        Assert.Empty(draws);
        Assert.Equal(
            ["tasks.latency:1|ms|@0.5|#queue:default", "tasks.latency:3|ms|@0.5|#queue:default", "tasks.runs:4|c"],
            (await h.Server.ReceiveLinesAsync(Ct)).Order(StringComparer.Ordinal));
    }

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

    /// <summary>A started exporter, its own meter, and a UDP socket playing the StatsD server.</summary>
    private sealed class Harness : IAsyncDisposable
    {
        private readonly ServiceProvider _services;

        private Harness(ServiceProvider services, StatsDExporter exporter, Server server, Meter meter)
        {
            _services = services;
            Exporter = exporter;
            Server = server;
            Meter = meter;
        }

        public StatsDExporter Exporter { get; }
        public Server Server { get; }
        public Meter Meter { get; }

        /// <summary>
        /// Through <see cref="StatsDExtensions.AddStatsDExporter"/> and configuration, like the app; given a
        /// sampler, clock or logger the exporter is built directly from the bound options, as DI can't hand it those.
        /// </summary>
        public static async Task<Harness> StartAsync(
            Dictionary<string, string?>? settings = null, Func<double>? sample = null, TimeProvider? clock = null, ILogger? logger = null)
        {
            var server = new Server();
            var meterName = "Tasks.Tests.StatsD." + Guid.NewGuid().ToString("N");
            var all = new Dictionary<string, string?>
            {
                ["Host"] = "127.0.0.1",
                ["Port"] = server.Port.ToString(CultureInfo.InvariantCulture),
                ["FlushIntervalMilliseconds"] = Hour.ToString(CultureInfo.InvariantCulture),
                ["Meters:0"] = meterName,
            };
            foreach (var (key, value) in settings ?? []) all[key] = value;

            var services = Services(all);
            var exporter = sample is null && clock is null && logger is null
                ? services.GetServices<IHostedService>().OfType<StatsDExporter>().Single()
                : new StatsDExporter(services.GetRequiredService<IOptions<StatsDOptions>>().Value, clock ?? TimeProvider.System,
                    logger ?? NullLogger.Instance, sample ?? Random.Shared.NextDouble);
            await exporter.StartAsync(Ct);
            return new Harness(services, exporter, server, new Meter(meterName));
        }

        public static ServiceProvider Services(Dictionary<string, string?> settings)
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(StatsDOptions.Section + ":" + s.Key, s.Value)))
                .Build();
            return new ServiceCollection()
                .AddLogging()
                .AddSingleton<IConfiguration>(configuration)
                .AddStatsDExporter()
                .BuildServiceProvider();
        }

        public async ValueTask DisposeAsync()
        {
            await Exporter.StopAsync(CancellationToken.None);
            Exporter.Dispose();
            await _services.DisposeAsync();
            Meter.Dispose();
            Server.Dispose();
        }
    }

    private sealed class Server : IDisposable
    {
        private readonly UdpClient _udp;

        public Server(int port = 0) => _udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));

        public int Port => ((IPEndPoint)_udp.Client.LocalEndPoint!).Port;

        /// <summary>The packets that arrive until the socket has been quiet a moment; at least one.</summary>
        public async Task<List<string>> ReceivePacketsAsync(CancellationToken ct)
        {
            var packets = new List<string> { await ReceiveAsync(TimeSpan.FromSeconds(10), ct) ?? throw new TimeoutException("No packet arrived.") };
            while (await ReceiveAsync(TimeSpan.FromMilliseconds(200), ct) is { } packet) packets.Add(packet);
            return packets;
        }

        public async Task<List<string>> ReceiveLinesAsync(CancellationToken ct) =>
            [.. (await ReceivePacketsAsync(ct)).SelectMany(p => p.Split('\n'))];

        public async Task AssertSilentAsync(CancellationToken ct) =>
            Assert.Null(await ReceiveAsync(TimeSpan.FromMilliseconds(300), ct));

        private async Task<string?> ReceiveAsync(TimeSpan wait, CancellationToken ct)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(wait);
            try
            {
                var result = await _udp.ReceiveAsync(timeout.Token);
                return Encoding.ASCII.GetString(result.Buffer);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return null;
            }
        }

        public void Dispose() => _udp.Dispose();
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private sealed class ListLogger : ILogger
    {
        private readonly List<(LogLevel, string, Exception?)> _entries = [];

        public IReadOnlyList<(LogLevel Level, string Message, Exception? Exception)> Entries
        {
            get { lock (_entries) return [.. _entries]; }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries) _entries.Add((logLevel, formatter(state, exception), exception));
        }
    }
}
