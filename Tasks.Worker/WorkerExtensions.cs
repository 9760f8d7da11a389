using MassTransit;
using Microsoft.Extensions.Options;
using Tasks.Contracts.Demo;
using Tasks.Contracts.Maintenance;
using Tasks.Contracts.Messages;
using Tasks.Core.Hosting;
using Tasks.Worker.Control;
using Tasks.Worker.Execution;
using Tasks.Worker.Handlers;
using Tasks.Worker.Monitoring;

namespace Tasks.Worker;

public static class WorkerExtensions
{
    /// <summary>
    /// The worker: consumes <see cref="Contracts.Messages.RunTask"/> and <see cref="Contracts.Messages.RunTasks"/> from each configured queue and runs the
    /// handlers registered with <c>AddTaskHandler</c>. Call <see cref="AddBuiltInHandlers"/> for the shipped tasks.
    /// </summary>
    public static IHostApplicationBuilder AddTasksWorker(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        // A renewal every quarter lease at most: a task is stopped at three quarters of it without one (RunningTasks).
        services.AddOptions<WorkerOptions>().BindConfiguration(WorkerOptions.Section).ValidateDataAnnotations()
            .Validate<IOptions<TasksOptions>>((w, tasks) => w.CancelPollMilliseconds * 4L <= tasks.Value.LeaseSeconds * 1000L,
                "Worker:CancelPollMilliseconds must be at most a quarter of Tasks:LeaseSeconds: each poll renews the running tasks' leases.")
            .Validate(w => w.HeartbeatSeconds * 1000L >= w.CancelPollMilliseconds,
                "Worker:HeartbeatSeconds must be at least Worker:CancelPollMilliseconds: the heartbeat goes with a lease renewal.")
            .ValidateOnStart();
        var worker = builder.Configuration.GetSection(WorkerOptions.Section).Get<WorkerOptions>() ?? new WorkerOptions();
        var grace = TimeSpan.FromSeconds(worker.ShutdownGraceSeconds);

        // Must start before MassTransit's hosted service: no message is taken before PostgreSQL answers.
        services.AddHostedService<DependencyGate>();
        services.AddSingleton<RunningTasks>();
        services.AddSingleton<HandlerCatalog>();
        services.AddSingleton<TaskSlots>();
        services.AddSingleton<TaskClaims>();
        services.AddSingleton<StopGrace>();
        services.AddSingleton<HandlerAbandonment>();
        services.AddSingleton<HandlerTransactions>();
        services.AddSingleton<PutBack>();
        services.AddSingleton<OutcomeRecorder>();
        services.AddSingleton<TaskRunner>();
        services.AddSingleton<WorkerCounters>();
        services.AddSingleton<WorkerHeartbeat>();
        // Before MassTransit's: hosts stop in reverse order, so its last beat (stopped) follows the drained bus.
        services.AddHostedService<CancelWatcher>();
        services.AddSingleton<QueuePauses>();

        // SIGTERM: stop taking messages, give running tasks the grace period, then fire their tokens; what is
        // still unfinished is not acked and goes back to the queue.
        services.Configure<HostOptions>(o => o.ShutdownTimeout = grace + TimeSpan.FromSeconds(15));
        services.AddOptions<MassTransitHostOptions>().Configure(o =>
        {
            o.WaitUntilStarted = false;
            o.ConsumerStopTimeout = grace;
            o.StopTimeout = grace + TimeSpan.FromSeconds(10);
        });

        builder.AddTasksCore(
            bus =>
            {
                bus.AddConsumer<ControlCommandConsumer>().ExcludeFromConfigureEndpoints();
            },
            (context, rabbit) => ReceiveTasks(context, rabbit, worker),
            connections: worker.Concurrency * worker.QueueList.Count); // each running task holds one
        return builder;
    }

    /// <summary>Hand-configured: the queues are chosen per process at run time (<c>--queues</c>), not by consumer type.</summary>
    private static void ReceiveTasks(IBusRegistrationContext context, IRabbitMqBusFactoryConfigurator rabbit, WorkerOptions worker)
    {
        // Failures of tasks are recorded by TaskRunner; what escapes is infrastructure (database down). Retry in
        // memory, then hand the message back to the broker, never to an error queue. A task not started because the
        // worker is stopping isn't retried here: the message goes back.
        var stopping = context.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var pauses = context.GetRequiredService<QueuePauses>();
        // Handlers, not DI consumers: no service scope per message (the handler's own scope is per task, in
        // HandlerTransaction). See docs/design.md#fast-on-durable-where-the-flushes-go-and-the-levers-tried-issue-25
        var one = new RunTaskConsumer(context.GetRequiredService<TaskRunner>());
        var many = new RunTasksConsumer(context.GetRequiredService<TaskRunner>());
        rabbit.ReceiveControlCommands(context);
        foreach (var queue in worker.QueueList)
        {
            rabbit.ReceiveEndpoint(queue, e =>
            {
                e.ConfigureConsumeTopology = false;
                e.PrefetchCount = worker.EffectivePrefetch;
                // Twice the slots: as many messages again whose tasks have handed their slot on and wait only for
                // their success's commit (HandlerTransaction). See docs/design.md#third-session-the-slots-wait-on-the-flush
                e.ConcurrentMessageLimit = 2 * worker.Concurrency;
                e.UseMessageRetry(r => r
                    .Exponential(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500))
                    .Ignore<OperationCanceledException>(_ => stopping.IsCancellationRequested));
                e.RethrowFaultedMessages();
                e.Handler<RunTask>(one.Consume);
                e.Handler<RunTasks>(many.Consume);
                e.ConnectReceiveEndpointObserver(pauses); // so a control command can pause the queue
            });
        }
    }

    public static IServiceCollection AddBuiltInHandlers(this IServiceCollection services) => services
        .AddTaskHandler<EchoArgs, EchoHandler>()
        .AddTaskHandler<SleepArgs, SleepHandler>()
        .AddTaskHandler<FailArgs, FailHandler>()
        .AddTaskHandler<CleanupArgs, CleanupHandler>();
}
