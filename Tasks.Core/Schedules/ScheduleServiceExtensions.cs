using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Quartz;
using Tasks.Core.Hosting;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Schedules;

public static class ScheduleServiceExtensions
{
    /// <summary>Quartz's tables, created by our migration QuartzSchedules, live in their own schema.</summary>
    public const string TablePrefix = "quartz.qrtz_";

    /// <summary>
    /// Schedules kept in Quartz's clustered ADO job store in our PostgreSQL: <see cref="ScheduleStore"/> to manage
    /// them and <see cref="ScheduleValidator"/> to check them. The scheduler host also starts the scheduler (it adds
    /// the hosted service); the Web host only reads and writes the store through it. <paramref name="fires"/>: the
    /// scheduler host, whose Quartz writes don't wait for the WAL flush (docs/design.md, "The beat", Quartz's writes
    /// without the flush); the Web host's do, since its answers promise a stored schedule.
    /// </summary>
    public static IHostApplicationBuilder AddTaskSchedules(this IHostApplicationBuilder builder, Action<IQuartzBuilder>? configure = null, bool fires = false)
    {
        var services = builder.Services;
        services.AddOptions<BeatOptions>().BindConfiguration(BeatOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // Quartz is configured as it is registered; a value out of range here is refused at start-up by the line above.
        var beat = builder.Configuration.GetSection(BeatOptions.Section).Get<BeatOptions>() ?? new BeatOptions();
        var postgres = ConnectionSettings.Require(builder.Configuration, ConnectionSettings.Postgres);
        services.AddQuartz(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = "tasks";
                o.IdleWaitTime = TimeSpan.FromSeconds(Math.Max(1, beat.IdleWaitSeconds));
            });
            q.UseDefaultThreadPool(o => o.MaxConcurrency = Math.Max(1, beat.ThreadCount));
            q.UsePersistentStore(store =>
            {
                // Prepared once per pooled connection, no DISCARD ALL per open: docs/design.md, "The beat", the cost of a fire.
                var connection = TasksCoreExtensions.FastByDefault(postgres, beat.ThreadCount);
                store.UsePostgres(fires ? WithoutFlushWait(connection) : connection);
                store.UseSystemTextJsonSerializer();
                store.ConfigureStore(o =>
                {
                    o.TablePrefix = TablePrefix;
                    o.StoreJobDataAsStrings = true; // a schedule's data is two strings: readable in the table, no type names stored
                    o.MisfireThreshold = TimeSpan.FromSeconds(Math.Max(1, beat.MisfireThresholdSeconds));
                });
                store.UseClustering(c =>
                {
                    c.CheckinInterval = TimeSpan.FromSeconds(Math.Max(0.5, beat.CheckinIntervalSeconds));
                    c.CheckinMisfireThreshold = TimeSpan.FromSeconds(Math.Max(0.5, beat.CheckinMisfireThresholdSeconds));
                });
            });
            configure?.Invoke(q);
        });
        services.AddSingleton<ScheduleStore>();
        services.AddSingleton<ScheduleValidator>();
        services.AddSingleton<ScheduleTelemetry>();
        return builder;
    }

    // Unless the connection string sets synchronous_commit itself (Options=-c synchronous_commit=on keeps the flush).
    private static string WithoutFlushWait(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Options?.Contains("synchronous_commit", StringComparison.Ordinal) != true)
            builder.Options = $"{builder.Options} -c synchronous_commit=off".Trim();
        return builder.ConnectionString;
    }
}
