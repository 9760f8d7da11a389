using Microsoft.Extensions.DependencyInjection;

namespace Tasks.Core.Enqueueing;

public static class EnqueueingExtensions
{
    /// <summary>The enqueuer and its parts; the publisher and the lifecycle are registered beside them.</summary>
    public static IServiceCollection AddTaskEnqueueing(this IServiceCollection services)
    {
        services.AddSingleton<EnqueueValidator>();
        services.AddSingleton<CommittedTaskPublisher>();
        services.AddScoped<TaskStore>();
        services.AddScoped<TaskEnqueuer>();
        return services;
    }
}
