using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Npgsql;
using Tasks.Core.Telemetry;

namespace Tasks.Scheduler.Monitoring;

/// <summary>
/// Samples what only a query can tell, every few seconds, for the gauges: the outbox backlog (<c>pending</c>),
/// the scheduled backlog, and the depth of each RabbitMQ queue (from the management API, when
/// <c>RabbitMq:ManagementUrl</c> is set). Gauges read the last sample, so a scrape never waits on a query.
/// </summary>
public sealed partial class BacklogMonitor : BackgroundService
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly RabbitManagement _rabbit;
    private readonly TimeProvider _clock;
    private readonly ILogger<BacklogMonitor> _logger;
    private readonly ConcurrentDictionary<string, long> _queueDepths = new();
    private long _pending, _scheduled;

    public BacklogMonitor(NpgsqlDataSource dataSource, RabbitManagement rabbit, IMeterFactory meters, TimeProvider clock, ILogger<BacklogMonitor> logger)
    {
        _dataSource = dataSource;
        _rabbit = rabbit;
        _clock = clock;
        _logger = logger;

        var meter = meters.Create(TasksTelemetry.Name);
        meter.CreateObservableGauge("tasks.outbox.backlog", () => Interlocked.Read(ref _pending),
            description: "Tasks committed but not yet handed to the broker (pending).");
        meter.CreateObservableGauge("tasks.scheduled.backlog", () => Interlocked.Read(ref _scheduled),
            description: "Tasks waiting for their time or their retry back-off (scheduled).");
        meter.CreateObservableGauge("tasks.queue.depth",
            () => _queueDepths.Select(q => new Measurement<long>(q.Value, new KeyValuePair<string, object?>("task.queue", q.Key))),
            description: "Messages ready in each RabbitMQ queue.");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5), _clock);
        do
        {
            try
            {
                await SampleDatabaseAsync(stoppingToken);
                if (_rabbit.Configured) await SampleQueuesAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogSampleFailed(_logger, e);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task SampleDatabaseAsync(CancellationToken ct)
    {
        // From the state counts the triggers keep (what the camera and the dashboard read), not a count(*) that
        // grows with the backlog it measures.
        await using var cmd = _dataSource.CreateCommand(
            "SELECT coalesce(sum(n) FILTER (WHERE state = 'pending'), 0)::bigint, coalesce(sum(n) FILTER (WHERE state = 'scheduled'), 0)::bigint FROM task_state_counts");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        Interlocked.Exchange(ref _pending, reader.GetInt64(0));
        Interlocked.Exchange(ref _scheduled, reader.GetInt64(1));
    }

    private async Task SampleQueuesAsync(CancellationToken ct)
    {
        foreach (var (name, queue) in await _rabbit.QueuesAsync(ct)) _queueDepths[name] = queue.Depth;
    }

    [LoggerMessage(LogLevel.Warning, "Sampling backlogs and queue depths failed; gauges keep their last values")]
    private static partial void LogSampleFailed(ILogger logger, Exception e);
}
