using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Tasks.Core.Telemetry;

public static class StatsDExtensions
{
    /// <summary>
    /// Sends the meters named in <c>Metrics:StatsD:Meters</c> to StatsD. Always registered; the exporter does
    /// nothing while <c>Metrics:StatsD:Host</c> is empty, so turning it on is a configuration change only.
    /// </summary>
    public static IServiceCollection AddStatsDExporter(this IServiceCollection services)
    {
        services.AddOptions<StatsDOptions>().BindConfiguration(StatsDOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddHostedService<StatsDExporter>();
        return services;
    }
}
