using Quartz;
using Tasks.Core.Hosting;
using Tasks.Core.Monitoring;
using Tasks.Core.Schedules;
using Tasks.Scheduler.Beat;
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
        builder.Services.AddSingleton<RabbitManagement>();
        builder.Services.AddHostedService<BacklogMonitor>();
        builder.Services.AddOptions<MonitorOptions>().BindConfiguration(MonitorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddScoped<Camera>();
        builder.Services.AddScoped<MonitorPruner>();
        builder.AddTasksCore();
        // The beat: config schedules reconciled first (hosted services start in order), then the clustered scheduler.
        builder.Services.AddHostedService<ScheduleReconciler>();
        builder.Services.AddHostedService<SnapshotTrigger>();
        builder.Services.AddHostedService<CadenceSync>();
        builder.AddTaskSchedules(q => q.AddTriggerListener<MisfireListener>([GroupMatcher<TriggerKey>.GroupEquals(Cadences.Group)]), fires: true);
        builder.Services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        return builder;
    }
}
