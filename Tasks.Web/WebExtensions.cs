using MassTransit;
using Tasks.Core.Control;
using Tasks.Core.Hosting;
using Tasks.Core.Queries;
using Tasks.Core.Schedules;
using Tasks.Web.Apis;
using Tasks.Web.Auth;
using Tasks.Web.Dashboard;

namespace Tasks.Web;

public static class WebExtensions
{
    public static WebApplicationBuilder AddTasksWeb(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddProblemDetails();
        builder.Services.AddMemoryCache();
        builder.Services.AddTasksAuth();
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.CamelCase;
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never;
        });
        // Its bus now has an endpoint (the control replies), whose health follows the broker: kept out of readiness, so
        // the web app stays ready without its broker and keeps taking tasks (the relay publishes them later).
        builder.AddTasksCore(
            bus =>
            {
                bus.AddControlClient();
                bus.ConfigureHealthCheckOptions(o =>
                {
                    o.Tags.Clear();
                    o.Tags.Add("masstransit");
                });
            },
            (context, rabbit) => rabbit.ReceiveControlReplies(context),
            retryQueries: true);
        builder.AddTaskSchedules(); // the store only: schedulers fire, the web app never starts one
        builder.Services.AddScoped<ScheduleQueries>();
        builder.Services.AddSingleton<CancelBroadcast>();
        builder.AddTasksDashboard();
        builder.Services.AddScoped<WorkerQueries>();
        return builder;
    }

    public static WebApplication MapTasksWeb(this WebApplication app)
    {
        // Before routing, so even a failure to route answers problem+json.
        app.UseSecurityHeaders();
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // From next to the assembly, not the content root: ./dev up, the tests and a container all run it from elsewhere.
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(Path.Combine(AppContext.BaseDirectory, "wwwroot")),
        });
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapTasksHealth();
        app.MapTasksApiV1();
        app.MapKeysApiV1();
        app.MapSchedulesApiV1();
        app.MapMonitorApiV1();
        app.MapWorkersControlApiV1();
        app.MapUsersApiV1();
        app.MapTasksDashboard();
        app.MapWorkersApiV1();
        return app;
    }
}
