using Tasks.Core.Data;
using Tasks.Core.Hosting;
using Tasks.Web;

var builder = WebApplication.CreateBuilder(args);
var migrate = args is ["migrate", ..];
if (migrate)
{
    // EF reports the missing history table of a first migration as an error; it isn't one.
    builder.Configuration["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore.Database.Command"] = "Fatal";
}
builder.UsePort("Web:Port", defaultPort: 5080);
builder.AddTasksLogging();
builder.AddTasksWeb();
var app = builder.Build();

if (migrate)
{
    // The one explicit schema step: ./dev up, deployments and the tests run it; hosts never migrate themselves.
    await TasksDatabase.MigrateAsync(app.Services, CancellationToken.None);
    return;
}

app.MapTasksWeb();
app.Run();
