using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Tasks.Core.Telemetry;

public static class TelemetryExtensions
{
    /// <summary>
    /// Traces and metrics through OpenTelemetry: ours (<see cref="TasksTelemetry"/>), MassTransit's, Npgsql's, ASP.NET
    /// Core's and the runtime's. Metrics are scraped at <c>/metrics</c> (Prometheus) and also go out as StatsD
    /// when <c>Metrics:StatsD:Host</c> is set; both traces and metrics go to OTLP when the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (<c>OTEL_SERVICE_NAME</c>, <c>OTEL_RESOURCE_ATTRIBUTES</c> are honoured).
    /// </summary>
    public static IHostApplicationBuilder AddTasksTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TasksTelemetry>();
        builder.Services.AddStatsDExporter();
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r =>
            {
                if (string.IsNullOrEmpty(builder.Configuration["OTEL_SERVICE_NAME"]))
                    r.AddService(builder.Environment.ApplicationName);
            })
            .WithTracing(t => t
                .AddSource(TasksTelemetry.Name, "MassTransit")
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperational(http.Request.Path))
                .AddNpgsql())
            .WithMetrics(m => m
                .AddMeter(TasksTelemetry.Name, "MassTransit")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddPrometheusExporter());
        if (!string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
            otel.UseOtlpExporter();
        return builder;
    }

    private static bool IsOperational(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics");
}
