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

namespace Tasks.Tests.Infrastructure;

/// <summary>What the StatsD exporter's tests share: the harness, a UDP socket playing the server, a clock and a logger.</summary>
internal static class StatsD
{
    /// <summary>The exporter's timer, set out of the way: flushes are driven by hand.</summary>
    public const int Hour = 3_600_000;

    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A started exporter, its own meter, and a UDP socket playing the StatsD server.</summary>
    internal sealed class Harness : IAsyncDisposable
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

    internal sealed class Server : IDisposable
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

    internal sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    internal sealed class ListLogger : ILogger
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
