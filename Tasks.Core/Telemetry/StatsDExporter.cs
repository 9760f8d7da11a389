using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Tasks.Core.Telemetry;

/// <summary>
/// Sends the measurements of the configured meters to a StatsD server over UDP, with tags in the DogStatsD form
/// (<c>|#key:value,...</c>) that statsd_exporter, Telegraf and Datadog read.
/// <list type="bullet">
/// <item><c>Counter</c>: summed per flush, sent as <c>name:sum|c</c>; a flush with no change sends nothing.</item>
/// <item><c>ObservableCounter</c>: reports a running total; the change since the last flush goes as <c>|c</c>.
/// A total that went down means the source restarted, so the whole new total is the change.</item>
/// <item><c>UpDownCounter</c>: its running total is sent as a gauge, <c>|g</c>. Not as <c>|c</c> deltas:
/// statsd_exporter drops negative counter values, and a server that sums deltas per interval shows how much the
/// level moved, never the level itself.</item>
/// <item><c>Gauge</c>, <c>ObservableGauge</c>, <c>ObservableUpDownCounter</c>: the last value, <c>|g</c>.</item>
/// <item><c>Histogram</c>: every recorded value, <c>|ms</c> when the unit is <c>ms</c> or <c>s</c> (converted),
/// else <c>|h</c>; sampled at <see cref="StatsDOptions.SampleRate"/>.</item>
/// </list>
/// Observable instruments are polled at each flush. Metrics must never break the host: nothing here throws into
/// the code that records a measurement, and failures to send are logged at debug, at most once a minute.
/// </summary>
public sealed partial class StatsDExporter : BackgroundService
{
    // A busy histogram between two flushes must not grow memory without bound; past this, values are dropped.
    private const int MaxPendingValues = 100_000;
    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan FinalFlushTimeout = TimeSpan.FromSeconds(5);

    private readonly StatsDOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<double> _sample;
    private readonly HashSet<string> _meters;
    private readonly string _rateSuffix;

    private readonly Lock _gate = new();
    private readonly Dictionary<(Instrument, string), Series> _series = [];
    private List<PendingValue> _pending = [];
    private int _dropped;

    // Only the flush path (one at a time, behind _flushGate) touches the fields below.
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly Throttle _sendFailures = new();
    private readonly Throttle _observeFailures = new();
    private readonly Throttle _drops = new();
    private MeterListener? _listener;
    private Socket? _socket;

    public StatsDExporter(IOptions<StatsDOptions> options, TimeProvider time, ILogger<StatsDExporter> logger)
        : this(options.Value, time, logger, Random.Shared.NextDouble)
    {
    }

    /// <param name="sample">Uniform in [0, 1); a histogram value is sent when it returns less than the rate.</param>
    internal StatsDExporter(StatsDOptions options, TimeProvider time, ILogger logger, Func<double> sample)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _sample = sample;
        _meters = new HashSet<string>(options.ResolvedMeters, StringComparer.Ordinal);
        _rateSuffix = options.SampleRate < 1 ? "|@" + Format(options.SampleRate) : "";
    }

    private bool Enabled => !string.IsNullOrWhiteSpace(_options.Host);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Listening starts here, not in ExecuteAsync (which runs on another thread): nothing recorded after
        // start-up is missed.
        if (Enabled)
        {
            _listener = CreateListener();
            _listener.Start();
            LogStarted(_logger, string.Join(", ", _meters), _options.Host!, _options.Port, _options.FlushIntervalMilliseconds);
        }
        else
        {
            LogDisabled(_logger);
        }
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listener is null) return;
        try
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(_options.FlushIntervalMilliseconds), _time);
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
                await FlushAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_listener is null) return;
        // Here rather than at the end of ExecuteAsync, which may never have run if stopped straight after start.
        // Bounded, so a StatsD host that no longer resolves can't hold up shutdown.
        using var timeout = new CancellationTokenSource(FinalFlushTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        await FlushCoreAsync(final: true, linked.Token).ConfigureAwait(false);
    }

    /// <summary>Polls observable instruments and sends everything aggregated since the last flush.</summary>
    internal Task FlushAsync(CancellationToken ct) => FlushCoreAsync(final: false, ct);

    private async Task FlushCoreAsync(bool final, CancellationToken ct)
    {
        if (_listener is null) return;
        try
        {
            await _flushGate.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        try
        {
            Observe();
            // Stopping here, after the last poll, means nothing is counted twice or lands after the last send.
            if (final) _listener.Dispose();
            var lines = Collect();
            ReportDrops();
            await SendAsync(lines, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            // A flush that breaks must not stop the host (an unhandled BackgroundService error does).
            Report(_sendFailures, e);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _flushGate.Release();
        }
    }

    private MeterListener CreateListener()
    {
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (!_meters.Contains(instrument.Meter.Name)) return;
                if (Describe(instrument) is { } info) listener.EnableMeasurementEvents(instrument, info);
            },
        };
        listener.SetMeasurementEventCallback<byte>((i, v, tags, state) => Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<short>((i, v, tags, state) => Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<int>((i, v, tags, state) => Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<long>((i, v, tags, state) => Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<float>((i, v, tags, state) => Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<double>((i, v, tags, state) => Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<decimal>((i, v, tags, state) => Record(i, (double)v, tags, state));
        return listener;
    }

    private InstrumentInfo? Describe(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        Kind? kind =
            definition == typeof(Counter<>) ? Kind.Counter
            : definition == typeof(ObservableCounter<>) ? Kind.CumulativeCounter
            : definition == typeof(UpDownCounter<>) ? Kind.Total
            : definition == typeof(Gauge<>) || definition == typeof(ObservableGauge<>) || definition == typeof(ObservableUpDownCounter<>) ? Kind.Gauge
            : definition == typeof(Histogram<>) ? Kind.Histogram
            : null;
        if (kind is null) return null;

        var name = Sanitize(instrument.Name);
        if (!string.IsNullOrEmpty(_options.Prefix)) name = _options.Prefix + "." + name;
        var (scale, histogramType) = kind != Kind.Histogram ? (1.0, "")
            : instrument.Unit switch { "s" => (1000.0, "ms"), "ms" => (1.0, "ms"), _ => (1.0, "h") };
        return new InstrumentInfo(name, kind.Value, scale, histogramType);
    }

    // Called on whatever thread records the measurement, so it locks and must never throw.
    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (state is not InstrumentInfo info || !double.IsFinite(value)) return;
        if (info.Kind == Kind.Histogram && _rateSuffix.Length > 0 && _sample() >= _options.SampleRate) return;
        var tagSuffix = FormatTags(tags);
        lock (_gate)
        {
            if (info.Kind == Kind.Histogram)
            {
                if (_pending.Count < MaxPendingValues) _pending.Add(new PendingValue(info, tagSuffix, value * info.Scale));
                else _dropped++;
                return;
            }
            if (!_series.TryGetValue((instrument, tagSuffix), out var series))
                _series.Add((instrument, tagSuffix), series = new Series(info, tagSuffix));
            series.Value = info.Kind is Kind.Counter or Kind.Total ? series.Value + value : value;
            series.Touched = true;
        }
    }

    private void Observe()
    {
        try
        {
            _listener!.RecordObservableInstruments();
        }
        catch (AggregateException e)
        {
            // One failing callback doesn't stop the others; their values are already recorded.
            if (_observeFailures.Due(_time, 1) is { } count) LogObserveFailed(_logger, count, e);
        }
    }

    private List<string> Collect()
    {
        var lines = new List<string>();
        List<PendingValue> pending;
        lock (_gate)
        {
            foreach (var series in _series.Values)
            {
                if (!series.Touched) continue;
                series.Touched = false;
                var info = series.Info;
                switch (info.Kind)
                {
                    case Kind.Counter:
                        if (series.Value != 0) lines.Add($"{info.Name}:{Format(series.Value)}|c{series.Tags}");
                        series.Value = 0;
                        break;
                    case Kind.CumulativeCounter:
                        var delta = series.Value >= series.Previous ? series.Value - series.Previous : series.Value;
                        series.Previous = series.Value;
                        if (delta != 0) lines.Add($"{info.Name}:{Format(delta)}|c{series.Tags}");
                        break;
                    default:
                        lines.Add(GaugeLine(info.Name, series.Value, series.Tags));
                        break;
                }
            }
            pending = _pending;
            _pending = [];
        }
        foreach (var value in pending)
            lines.Add($"{value.Info.Name}:{Format(value.Value)}|{value.Info.Type}{_rateSuffix}{value.Tags}");
        return lines;
    }

    // A leading sign makes a StatsD gauge value relative, so a negative level is set by zeroing first; both lines
    // travel as one unit so they stay in order in the same packet.
    private static string GaugeLine(string name, double value, string tags) =>
        value < 0 ? $"{name}:0|g{tags}\n{name}:{Format(value)}|g{tags}" : $"{name}:{Format(value)}|g{tags}";

    private async Task SendAsync(List<string> lines, CancellationToken ct)
    {
        if (lines.Count == 0) return;
        var socket = _socket ??= await ConnectAsync(ct).ConfigureAwait(false);
        var packet = new StringBuilder(_options.MaxPacketBytes);
        try
        {
            foreach (var line in lines)
            {
                // Every line is ASCII (names and tags are sanitised, numbers invariant), so chars are bytes.
                if (packet.Length > 0 && packet.Length + 1 + line.Length > _options.MaxPacketBytes)
                {
                    await SendPacketAsync(socket, packet, ct).ConfigureAwait(false);
                    packet.Clear();
                }
                if (packet.Length > 0) packet.Append('\n');
                packet.Append(line);
            }
            await SendPacketAsync(socket, packet, ct).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            // The server may have moved (a restarted container, a new address): look it up again next flush.
            socket.Dispose();
            _socket = null;
            throw;
        }
    }

    private static async Task SendPacketAsync(Socket socket, StringBuilder packet, CancellationToken ct)
    {
        var bytes = Encoding.ASCII.GetBytes(packet.ToString());
        try
        {
            await socket.SendAsync(bytes, SocketFlags.None, ct).ConfigureAwait(false);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
        {
            // A connected UDP socket reports "port unreachable" for an earlier packet on the next send, which then
            // isn't sent; once reported the error is cleared, so sending again is not a loop.
            await socket.SendAsync(bytes, SocketFlags.None, ct).ConfigureAwait(false);
        }
    }

    private async Task<Socket> ConnectAsync(CancellationToken ct)
    {
        var addresses = await Dns.GetHostAddressesAsync(_options.Host!, ct).ConfigureAwait(false);
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
        var socket = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Connected, so each send names no address and the kernel does the lookup once.
            socket.Connect(new IPEndPoint(address, _options.Port));
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private void ReportDrops()
    {
        int dropped;
        lock (_gate)
        {
            dropped = _dropped;
            _dropped = 0;
        }
        if (dropped > 0 && _drops.Due(_time, dropped) is { } total) LogDropped(_logger, total, MaxPendingValues);
    }

    private void Report(Throttle throttle, Exception e)
    {
        if (throttle.Due(_time, 1) is { } count) LogFailed(_logger, _options.Host!, _options.Port, count, e);
    }

    internal static string Sanitize(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
            if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '_' or '.' or '-')) chars[i] = '_';
        return new string(chars);
    }

    // Sorted by key so the same tags in another order are the same series.
    private static string FormatTags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty) return "";
        var sorted = tags.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder("|#");
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i > 0) text.Append(',');
            text.Append(Sanitize(sorted[i].Key)).Append(':').Append(Sanitize(TagValue(sorted[i].Value)));
        }
        return text.ToString();
    }

    private static string TagValue(object? value)
    {
        try
        {
            return value switch
            {
                null => "",
                bool b => b ? "true" : "false",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString() ?? "",
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A tag object's own ToString must not throw into the code recording the measurement.
            return "";
        }
    }

    // -0 would print as "-0", which a gauge reads as "subtract nothing".
    private static string Format(double value) => (value == 0 ? 0 : value).ToString(CultureInfo.InvariantCulture);

    public override void Dispose()
    {
        _listener?.Dispose();
        _socket?.Dispose();
        _flushGate.Dispose();
        base.Dispose();
    }

    [LoggerMessage(LogLevel.Information, "Exporting meters {Meters} to StatsD at {Host}:{Port} every {IntervalMs} ms")]
    private static partial void LogStarted(ILogger logger, string meters, string host, int port, int intervalMs);

    [LoggerMessage(LogLevel.Debug, "StatsD exporter off: Metrics:StatsD:Host is empty")]
    private static partial void LogDisabled(ILogger logger);

    [LoggerMessage(LogLevel.Debug, "Sending metrics to StatsD at {Host}:{Port} failed ({Failures} failures in the last minute)")]
    private static partial void LogFailed(ILogger logger, string host, int port, int failures, Exception e);

    [LoggerMessage(LogLevel.Debug, "Polling observable instruments for StatsD: a callback failed ({Failures} failures in the last minute)")]
    private static partial void LogObserveFailed(ILogger logger, int failures, Exception e);

    [LoggerMessage(LogLevel.Debug, "{Dropped} histogram values dropped: more than {Limit} between two flushes")]
    private static partial void LogDropped(ILogger logger, int dropped, int limit);

    private enum Kind { Counter, CumulativeCounter, Total, Gauge, Histogram }

    private sealed record InstrumentInfo(string Name, Kind Kind, double Scale, string Type);

    private readonly record struct PendingValue(InstrumentInfo Info, string Tags, double Value);

    private sealed class Series(InstrumentInfo info, string tags)
    {
        public InstrumentInfo Info { get; } = info;
        public string Tags { get; } = tags;
        public double Value { get; set; }
        public double Previous { get; set; }
        public bool Touched { get; set; }
    }

    /// <summary>Counts events and says when a minute has passed since the last report.</summary>
    private sealed class Throttle
    {
        private DateTimeOffset _last = DateTimeOffset.MinValue;
        private int _count;

        /// <returns>The events since the last report when one is due, else null.</returns>
        public int? Due(TimeProvider time, int events)
        {
            _count += events;
            var now = time.GetUtcNow();
            if (now - _last < ReportEvery) return null;
            _last = now;
            var count = _count;
            _count = 0;
            return count;
        }
    }
}
