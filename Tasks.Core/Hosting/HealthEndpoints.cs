using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;

namespace Tasks.Core.Hosting;

public static partial class HealthEndpoints
{
    /// <summary>
    /// <c>/health/live</c>: the process answers. <c>/health/ready</c>: every check tagged "ready" (broker, database,
    /// and whatever the host adds) passes; degraded (say, one of a worker's queues not consuming) is not ready.
    /// Both answer JSON naming each check and its status, never why it failed: exception text (hosts, ports, user
    /// names) is for the log, where <see cref="HealthLog"/> writes it. <c>/metrics</c>: the Prometheus scrape.
    /// </summary>
    public static IEndpointRouteBuilder MapTasksHealth(this IEndpointRouteBuilder endpoints)
    {
        var log = new HealthLog(
            endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(HealthEndpoints).FullName!),
            endpoints.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System);
        endpoints.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteJson });
        endpoints.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Contains("ready"),
            ResponseWriter = (context, report) =>
            {
                log.Observe(report);
                return WriteJson(context, report);
            },
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status503ServiceUnavailable,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        endpoints.MapPrometheusScrapingEndpoint("/metrics");
        return endpoints;
    }

    private static Task WriteJson(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return JsonSerializer.SerializeAsync(context.Response.Body, new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString() }),
        }, JsonSerializerOptions.Web, context.RequestAborted);
    }

    /// <summary>
    /// Logs why a check fails, once when it starts failing (or fails differently, at most once a minute), and once
    /// when it passes again: a probe every few seconds against a failing check doesn't write a line each time.
    /// A check still coming up (not passed yet, in the host's first minute: the bus connecting) isn't a failure.
    /// </summary>
    internal sealed partial class HealthLog(ILogger logger, TimeProvider clock)
    {
        private static readonly TimeSpan RepeatAfter = TimeSpan.FromMinutes(1);
        private static readonly TimeSpan StartUp = TimeSpan.FromMinutes(1);
        private readonly DateTimeOffset _started = clock.GetUtcNow();
        private readonly ConcurrentDictionary<string, (HealthStatus Status, string Signature, DateTimeOffset LoggedAt)> _last = new();

        public void Observe(HealthReport report)
        {
            var now = clock.GetUtcNow();
            foreach (var (name, entry) in report.Entries)
            {
                if (entry.Status != HealthStatus.Healthy && !_last.ContainsKey(name) && now - _started < StartUp) continue;
                // The message is left out of the signature: it may change on every probe (a timeout, a port).
                var signature = $"{entry.Description}|{entry.Exception?.GetType().FullName}";
                var known = _last.TryGetValue(name, out var last);
                if (entry.Status == HealthStatus.Healthy)
                {
                    if (known && last.Status != HealthStatus.Healthy) LogPassing(logger, name);
                    _last[name] = (entry.Status, "", now);
                }
                else if (!known || last.Status != entry.Status || (last.Signature != signature && now - last.LoggedAt >= RepeatAfter))
                {
                    LogFailing(logger, entry.Exception, name, entry.Status, entry.Description);
                    _last[name] = (entry.Status, signature, now);
                }
            }
        }

        [LoggerMessage(LogLevel.Warning, "Health check {Check} is {Status}: {Description}")]
        private static partial void LogFailing(ILogger logger, Exception? e, string check, HealthStatus status, string? description);

        [LoggerMessage(LogLevel.Information, "Health check {Check} passes again")]
        private static partial void LogPassing(ILogger logger, string check);
    }
}
