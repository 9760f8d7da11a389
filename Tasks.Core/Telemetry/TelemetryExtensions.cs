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
    /// <para>
    /// With no exporter, spans are not recorded (<see cref="AlwaysOffSampler"/>, unless <c>OTEL_TRACES_SAMPLER</c>
    /// says otherwise): nobody would read them, and recording them costs CPU on every request and task.
    /// Trace contexts still flow (a request's, a message's, a stored task's), so log lines keep their trace ids and
    /// a task's lines carry the id of the request that enqueued it.
    /// </para>
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
