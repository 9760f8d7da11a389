using Tasks.Core.Hosting;
using Tasks.Scheduler.Monitoring;
using Tasks.Scheduler.Relay;

namespace Tasks.Scheduler;

public static class SchedulerExtensions
{
    public static IHostApplicationBuilder AddTasksScheduler(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RelayOptions>().BindConfiguration(RelayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<TaskRelay>();
        builder.Services.AddHttpClient();
        builder.Services.AddHostedService<BacklogMonitor>();
        builder.AddTasksCore();
        return builder;
    }
}
