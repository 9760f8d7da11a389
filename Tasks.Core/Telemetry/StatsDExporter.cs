using System.Diagnostics.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Tasks.Core.Telemetry;

/// <summary>
/// Sends the measurements of the configured meters to a StatsD server over UDP, with DogStatsD tags
/// (<c>|#key:value,...</c>) that statsd_exporter, Telegraf and Datadog read. A <see cref="MeterListener"/> feeds
/// the <see cref="StatsDAggregator"/>; every <see cref="StatsDOptions.FlushIntervalMilliseconds"/> observable
/// instruments are polled and the aggregate goes out through the <see cref="StatsDSender"/>. Metrics must never
/// break the host: nothing here throws into the code that records, and failures are logged at debug, at most once
/// a minute. How each kind of instrument is sent: docs/design.md#statsd-how-each-instrument-is-sent.
/// </summary>
public sealed partial class StatsDExporter : BackgroundService
{
    private static readonly TimeSpan FinalFlushTimeout = TimeSpan.FromSeconds(5);

    private readonly StatsDOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly HashSet<string> _meters;
    private readonly StatsDAggregator _aggregator;

    // Only the flush path (one at a time, behind _flushGate) touches the fields below.
    private readonly SemaphoreSlim _flushGate = new(1, 1);
    private readonly StatsDSender _sender;
    private readonly LogThrottle _sendFailures = new();
    private readonly LogThrottle _observeFailures = new();
    private readonly LogThrottle _drops = new();
    private MeterListener? _listener;

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
        _meters = new HashSet<string>(options.ResolvedMeters, StringComparer.Ordinal);
        _aggregator = new StatsDAggregator(options, sample);
        _sender = new StatsDSender(options);
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
            var lines = _aggregator.Collect();
            ReportDrops();
            await _sender.SendAsync(lines, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
        {
            // A flush that breaks must not stop the host (an unhandled BackgroundService error does).
            if (_sendFailures.Due(_time, 1) is { } count) LogFailed(_logger, _options.Host!, _options.Port, count, e);
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
                if (_aggregator.Describe(instrument) is { } info) listener.EnableMeasurementEvents(instrument, info);
            },
        };
        var aggregator = _aggregator;
        listener.SetMeasurementEventCallback<byte>((i, v, tags, state) => aggregator.Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<short>((i, v, tags, state) => aggregator.Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<int>((i, v, tags, state) => aggregator.Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<long>((i, v, tags, state) => aggregator.Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<float>((i, v, tags, state) => aggregator.Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<double>((i, v, tags, state) => aggregator.Record(i, v, tags, state));
        listener.SetMeasurementEventCallback<decimal>((i, v, tags, state) => aggregator.Record(i, (double)v, tags, state));
        return listener;
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

    private void ReportDrops()
    {
        var dropped = _aggregator.TakeDropped();
        if (dropped > 0 && _drops.Due(_time, dropped) is { } total) LogDropped(_logger, total, StatsDAggregator.MaxPendingValues);
    }

    public override void Dispose()
    {
        _listener?.Dispose();
        _sender.Dispose();
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
}
