using Tasks.Core.Data;
using Tasks.Core.Hosting;
using Tasks.Web;

var builder = WebApplication.CreateBuilder(args);
builder.UsePort("Web:Port", defaultPort: 5080);
builder.AddTasksLogging();
builder.AddTasksWeb();
var app = builder.Build();

if (args is ["migrate", ..])
{
    // The one explicit schema step: ./dev up, deployments and the tests run it; hosts never migrate themselves.
    await TasksDatabase.MigrateAsync(app.Services, CancellationToken.None);
    return;
}

app.MapTasksWeb();
app.Run();

/// <summary>Visible to the tests' host factory.</summary>
public partial class Program;
