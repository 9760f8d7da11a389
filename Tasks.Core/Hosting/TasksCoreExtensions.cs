using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Npgsql;
using Tasks.Contracts;
using Tasks.Core.Data;
using Tasks.Core.Enqueueing;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;
using Tasks.Core.Registry;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Hosting;

public static class TasksCoreExtensions
{
    /// <summary>
    /// The key of the data source whose commits don't wait for the WAL flush (<c>synchronous_commit = off</c>), for
    /// the lifecycle's writes that a database crash may lose at no cost: see docs/design.md, "Writes that don't wait
    /// for the WAL flush".
    /// </summary>
    public const string Relaxed = "relaxed";

    /// <summary>
    /// What every host needs: the database, the task registry and lifecycle, the enqueuer, and the bus.
    /// <paramref name="configureBus"/> adds consumers; <paramref name="configureRabbit"/> adds endpoints.
    /// <paramref name="retryQueries"/> retries EF Core work on transient errors: only for hosts that never open
    /// transactions themselves, which EF can't retry. <paramref name="connections"/> is the most connections the
    /// host's own work holds at once (a worker: one per running task); the pool is sized for it.
    /// </summary>
    public static IHostApplicationBuilder AddTasksCore(
        this IHostApplicationBuilder builder,
        Action<IBusRegistrationConfigurator>? configureBus = null,
        Action<IBusRegistrationContext, IRabbitMqBusFactoryConfigurator>? configureRabbit = null,
        bool retryQueries = false,
        int connections = 0)
    {
        var services = builder.Services;
        services.AddOptions<TasksOptions>().BindConfiguration(TasksOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(TimeProvider.System);

        var postgres = ConnectionSettings.Require(builder.Configuration, ConnectionSettings.Postgres);
        services.AddSingleton(_ => new NpgsqlDataSourceBuilder(FastByDefault(postgres, connections)).Build());
        services.AddKeyedSingleton(Relaxed, (_, _) => new NpgsqlDataSourceBuilder(WithoutFlushWait(FastByDefault(postgres, connections))).Build());
        void Configure(IServiceProvider sp, DbContextOptionsBuilder o) => o
            .UseNpgsql(sp.GetRequiredService<NpgsqlDataSource>(), npgsql =>
            {
                if (retryQueries) npgsql.EnableRetryOnFailure(3, TimeSpan.FromSeconds(1), null);
            })
            .UseSnakeCaseNamingConvention()
            .AddInterceptors(AbandonedContextGuard.Instance);
        // Pooled: a context of its own per scope, reset when the scope ends, so a host must never end a scope while
        // something still uses its context. See docs/design.md#pooled-tasksdbcontext-and-abandoned-handlers.
        services.AddDbContextPool<TasksDbContext>(Configure);

        services.AddTaskContracts(typeof(TaskContractAttribute).Assembly);
        services.AddSingleton<TaskRegistry>();
        services.AddSingleton<TaskStateMachine>();
        services.AddSingleton<TaskPublisher>();
        services.AddTaskEnqueueing();
        services.AddScoped<TaskQueries>();
        services.AddScoped<AttemptQueries>();
        services.AddSingleton<BulkActions>();

        var rabbit = new Uri(ConnectionSettings.Require(builder.Configuration, ConnectionSettings.RabbitMq));
        services.AddSingleton(new RabbitSettings(rabbit));
        services.AddMassTransit(x =>
        {
            configureBus?.Invoke(x);
            // MassTransit 8.4+ posts anonymous usage data to masstransit.io five minutes after start (a warning with
            // a stack trace where there is no internet). Off unless the operator opts in: MASSTRANSIT_USAGE_TELEMETRY=true.
            x.ConfigureUsageTelemetryOptions(o => o.Enabled = false);
            x.UsingRabbitMq((context, cfg) =>
            {
                cfg.Host(rabbit, h => h.ConnectionName(builder.Environment.ApplicationName));
                configureRabbit?.Invoke(context, cfg);
            });
        });

        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("postgres", HealthStatus.Unhealthy, ["ready"]);
        builder.AddTasksTelemetry();
        return builder;
    }

    /// <summary>
    /// No <c>DISCARD ALL</c> on every open, statements prepared once per connection, and a pool that holds the
    /// host's own work plus room for its other statements, unless the connection string says otherwise. Handlers
    /// must then use <c>SET LOCAL</c> and transaction-level locks: docs/design.md#pooled-connections-keep-their-session.
    /// </summary>
    internal static string FastByDefault(string connectionString, int connections)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (!Given("No Reset On Close", "NoResetOnClose")) builder.NoResetOnClose = true;
        if (!Given("Max Auto Prepare", "MaxAutoPrepare")) builder.MaxAutoPrepare = 50;
        if (!Given("Maximum Pool Size", "Max Pool Size", "MaxPoolSize")) builder.MaxPoolSize = Math.Max(builder.MaxPoolSize, connections + 20);
        return builder.ConnectionString;

        bool Given(params string[] names) => names.Any(given.ContainsKey);
    }

    private static string WithoutFlushWait(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Options = $"{builder.Options} -c synchronous_commit=off".Trim();
        builder.MaxPoolSize = Math.Min(builder.MaxPoolSize, 10); // small writes only: don't double the connection budget
        return builder.ConnectionString;
    }

    /// <summary>Registers every <see cref="TaskContractAttribute"/> record in <paramref name="assembly"/>.</summary>
    public static IServiceCollection AddTaskContracts(this IServiceCollection services, System.Reflection.Assembly assembly)
    {
        foreach (var type in assembly.GetExportedTypes())
            if (type.IsDefined(typeof(TaskContractAttribute), inherit: false))
                services.AddSingleton(TaskDefinition.For(type));
        return services;
    }
}
