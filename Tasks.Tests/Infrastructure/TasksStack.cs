using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tasks.Core.Auth;
using Tasks.Core.Data;
using Tasks.Core.Hosting;
using Tasks.Scheduler;
using Tasks.Web;
using Tasks.Worker;
using Tasks.Worker.Execution;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// A whole Tasks system for one test class, on the run's real servers: its own database and vhost, migrated
/// through the same step <c>dotnet Tasks.Web.dll migrate</c> runs, with the web API on a real port, a worker and
/// a scheduler, built with the hosts' own registration methods plus the test tasks.
/// </summary>
public class TasksStack : IAsyncLifetime
{
    private readonly string _collection = RunningTestsAttribute.CurrentCollection;

    public string Name { get; } = "t_" + Guid.NewGuid().ToString("N")[..12];
    public string ApiKey { get; } = ApiKeys.Generate();
    public string Postgres { get; private set; } = "";
    public Uri Rabbit { get; private set; } = null!;
    public Servers Servers { get; private set; } = null!;
    public WebApplication Web { get; private set; } = null!;
    public WebApplication? Worker { get; private set; }
    public WebApplication? Scheduler { get; private set; }
    public HttpClient Http { get; private set; } = null!;
    public Uri WebAddress { get; private set; } = null!;

    /// <summary>Settings every host of this stack gets, on top of the connection strings.</summary>
    protected virtual Dictionary<string, string?> Settings => new()
    {
        ["Relay:PollMilliseconds"] = "100",
        ["Worker:CancelPollMilliseconds"] = "100",
        ["Worker:StopGraceSeconds"] = "2",
        ["Worker:ShutdownGraceSeconds"] = "3",
        ["Tasks:PublishTimeoutSeconds"] = "3",
        // Long enough that a loaded CI box's late renewals don't stop tasks (a task stops at three quarters of it
        // without one); classes that test a take-over after a lost worker set a short one of their own.
        ["Tasks:LeaseSeconds"] = "10",
    };

    /// <summary>What every host of the stack logs, for tests that check logs.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>A last word on each host's services (say, an in-memory trace exporter).</summary>
    protected virtual void ConfigureHost(WebApplicationBuilder builder) { }

    /// <summary>
    /// The database every host of the stack (and its migration) uses: the fresh one on the run's shared server,
    /// unless a stack brings a server of its own (say, a <see cref="PrivatePostgres"/> it can crash).
    /// </summary>
    protected virtual Task<string> DatabaseAsync(string onSharedServer) => Task.FromResult(onSharedServer);

    protected virtual bool StartWorker => true;
    protected virtual bool StartScheduler => true;

    public virtual async ValueTask InitializeAsync()
    {
        Servers = await Tasks.Testing.Servers.GetAsync();
        (_, Postgres, Rabbit) = await Servers.CreateIsolatedAsync(Name);
        Postgres = await DatabaseAsync(Postgres);

        Web = BuildWeb(Settings);
        await TasksDatabase.MigrateAsync(Web.Services, CancellationToken.None);
        await Web.StartAsync();
        WebAddress = new Uri(Web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        Http = new HttpClient { BaseAddress = WebAddress };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

        if (StartWorker) Worker = await StartWorkerAsync(Settings);
        if (StartScheduler) Scheduler = await StartHostAsync("Tasks.Scheduler", Settings, b => b.AddTasksScheduler());
    }

    public WebApplication BuildWeb(Dictionary<string, string?> settings, string? rabbit = null)
    {
        var builder = CreateBuilder("Tasks.Web", settings, rabbit);
        builder.Configuration["Auth:BootstrapApiKey"] = ApiKey;
        builder.AddTasksWeb();
        builder.Services.AddTaskContracts(typeof(TasksStack).Assembly);
        var app = builder.Build();
        app.MapTasksWeb();
        return app;
    }

    /// <summary>
    /// Another worker host, with <paramref name="settings"/> on top of the stack's, and the database at
    /// <paramref name="postgres"/> (say, through a <see cref="TcpProxy"/>) instead of the stack's.
    /// </summary>
    public Task<WebApplication> StartWorkerAsync(Dictionary<string, string?> settings, string? postgres = null) =>
        StartHostAsync("Tasks.Worker", new Dictionary<string, string?>(Settings.Concat(settings).GroupBy(s => s.Key).Select(g => g.Last())), b =>
        {
            b.AddTasksWorker();
            b.Services.AddBuiltInHandlers();
            b.Services.AddTestHandlers();
        }, postgres);

    public async Task<WebApplication> StartHostAsync(
        string name, Dictionary<string, string?> settings, Action<WebApplicationBuilder> configure, string? postgres = null)
    {
        var builder = CreateBuilder(name, settings, null, postgres);
        configure(builder);
        var app = builder.Build();
        app.MapTasksHealth();
        await app.StartAsync();
        await WaitReadyAsync(app);
        return app;
    }

    private static Task WaitReadyAsync(WebApplication app) => Readiness.WaitAsync(
        new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()), TimeSpan.FromSeconds(30));

    private WebApplicationBuilder CreateBuilder(string name, Dictionary<string, string?> settings, string? rabbit, string? postgres = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = name,
            EnvironmentName = "Testing",
            ContentRootPath = AppContext.BaseDirectory,
        });
        var all = new Dictionary<string, string?>(settings)
        {
            ["ConnectionStrings:Tasks"] = postgres ?? Postgres,
            ["ConnectionStrings:RabbitMq"] = rabbit ?? Rabbit.ToString(),
        };
        // Tests send tasks to queues they invent (a fresh one per test): any valid name is known, unless a stack's
        // settings list queues of their own.
        if (!settings.Keys.Any(k => k.StartsWith("Tasks:Queues", StringComparison.OrdinalIgnoreCase))) all["Tasks:Queues:0"] = "*";
        builder.Configuration.AddInMemoryCollection(all);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        // Warnings and errors to the running test's output, except EF's report of the missing history table on a
        // first migration.
        builder.Logging.AddProvider(new TestOutputLogs(_collection, name));
        builder.Logging.AddFilter<TestOutputLogs>((category, level) =>
            level >= LogLevel.Warning && category != "Microsoft.EntityFrameworkCore.Database.Command");
        builder.Logging.AddProvider(Logs.ForHost());
        ConfigureHost(builder);
        return builder;
    }

    /// <summary>The environment a separate host process of this stack needs (for tests that kill processes).</summary>
    public Dictionary<string, string> ProcessEnvironment(int healthPort) => new(HostEnvironment.For(Postgres, Rabbit, healthPort))
    {
        ["Logging__Colors"] = "false",
        ["Tasks__LeaseSeconds"] = Settings["Tasks:LeaseSeconds"]!,
        ["Tasks__Queues__0"] = "*",
    };

    public NpgsqlDataSource OpenDatabase() => NpgsqlDataSource.Create(Postgres);

    public virtual async ValueTask DisposeAsync()
    {
        Http?.Dispose();
        foreach (var host in new[] { Scheduler, Worker, Web })
        {
            if (host is null) continue;
            try { await host.StopAsync(TimeSpan.FromSeconds(10)); } catch (OperationCanceledException) { }
            await host.DisposeAsync();
        }
        if (Servers is not null) await Servers.DropIsolatedAsync(Name);
        GC.SuppressFinalize(this);
    }
}
