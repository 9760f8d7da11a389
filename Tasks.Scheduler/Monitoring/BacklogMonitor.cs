using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using Tasks.Core.Hosting;
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
    private readonly IHttpClientFactory _http;
    private readonly Uri? _management;
    private readonly string _vhost;
    private readonly TimeProvider _clock;
    private readonly ILogger<BacklogMonitor> _logger;
    private readonly ConcurrentDictionary<string, long> _queueDepths = new();
    private long _pending, _scheduled;

    public BacklogMonitor(
        NpgsqlDataSource dataSource, IHttpClientFactory http, IConfiguration configuration, IMeterFactory meters,
        TimeProvider clock, ILogger<BacklogMonitor> logger)
    {
        _dataSource = dataSource;
        _http = http;
        _clock = clock;
        _logger = logger;
        var rabbit = new Uri(ConnectionSettings.Require(configuration, ConnectionSettings.RabbitMq));
        _vhost = rabbit.AbsolutePath.Trim('/') is { Length: > 0 } v ? Uri.UnescapeDataString(v) : "/";
        if (configuration["RabbitMq:ManagementUrl"] is { Length: > 0 } url)
        {
            var management = new UriBuilder(url);
            if (string.IsNullOrEmpty(management.UserName) && rabbit.UserInfo.Split(':') is [var user, var password])
            {
                management.UserName = user;
                management.Password = password;
            }
            _management = management.Uri;
        }

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
                if (_management is not null) await SampleQueuesAsync(_management, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                LogSampleFailed(_logger, e);
            }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task SampleDatabaseAsync(CancellationToken ct)
    {
        await using var cmd = _dataSource.CreateCommand(
            "SELECT (SELECT count(*) FROM tasks WHERE state = 'pending'), (SELECT count(*) FROM tasks WHERE state = 'scheduled')");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        Interlocked.Exchange(ref _pending, reader.GetInt64(0));
        Interlocked.Exchange(ref _scheduled, reader.GetInt64(1));
    }

    private async Task SampleQueuesAsync(Uri management, CancellationToken ct)
    {
        using var http = _http.CreateClient(nameof(BacklogMonitor));
        using var request = new HttpRequestMessage(HttpMethod.Get,
            new Uri(management, $"api/queues/{Uri.EscapeDataString(_vhost)}?columns=name,messages_ready"));
        if (!string.IsNullOrEmpty(management.UserInfo))
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(management.UserInfo))));
        using var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
        foreach (var queue in json.RootElement.EnumerateArray())
            if (queue.TryGetProperty("messages_ready", out var ready))
                _queueDepths[queue.GetProperty("name").GetString()!] = ready.GetInt64();
    }

    [LoggerMessage(LogLevel.Warning, "Sampling backlogs and queue depths failed; gauges keep their last values")]
    private static partial void LogSampleFailed(ILogger logger, Exception e);
}
