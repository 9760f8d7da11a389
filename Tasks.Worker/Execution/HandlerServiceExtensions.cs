using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Tasks.Core.Registry;

namespace Tasks.Worker.Execution;

public static class HandlerServiceExtensions
{
    /// <summary>Makes <typeparamref name="THandler"/> the handler of the task whose contract is <typeparamref name="TArgs"/>.</summary>
    public static IServiceCollection AddTaskHandler<TArgs, THandler>(this IServiceCollection services)
        where TArgs : class
        where THandler : class, ITaskHandler<TArgs>
    {
        var registration = HandlerRegistration.For<TArgs, THandler>();
        services.TryAddScoped<THandler>();
        services.AddSingleton(registration);
        services.AddSingleton(registration.Definition);
        return services;
    }
}
