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
    /// Core's and the runtime's; metrics at <c>/metrics</c>, to StatsD when <c>Metrics:StatsD:Host</c> is set, and
    /// both to OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is. Spans are recorded only when they go somewhere
    /// (trace contexts still flow to the logs): docs/design.md#spans-recorded-only-when-they-go-somewhere.
    /// </summary>
    public static IHostApplicationBuilder AddTasksTelemetry(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<TasksTelemetry>();
        builder.Services.AddStatsDExporter();
        var exporting = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r =>
            {
                if (string.IsNullOrEmpty(builder.Configuration["OTEL_SERVICE_NAME"]))
                    r.AddService(builder.Environment.ApplicationName);
            })
            .WithTracing(t =>
            {
                t.AddSource(TasksTelemetry.Name, "MassTransit")
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperational(http.Request.Path))
                    .AddNpgsql();
                // A sampler set here would override the operator's OTEL_TRACES_SAMPLER.
                if (!exporting && string.IsNullOrEmpty(builder.Configuration["OTEL_TRACES_SAMPLER"]))
                    t.SetSampler(new AlwaysOffSampler());
            })
            .WithMetrics(m => m
                .AddMeter(TasksTelemetry.Name, "MassTransit")
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddPrometheusExporter());
        if (exporting) otel.UseOtlpExporter();
        return builder;
    }

    private static bool IsOperational(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/metrics");
}
