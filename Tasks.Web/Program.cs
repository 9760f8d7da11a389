using Tasks.Core.Data;
using Tasks.Core.Hosting;
using Tasks.Web;
using Tasks.Web.Auth;

KeyCommands.Command? keys = null;
if (args is ["keys", .. var keyArgs])
{
    // Checked before anything is built: bad arguments cost neither a database connection nor a log line.
    keys = KeyCommands.Parse(keyArgs, out var error);
    if (keys is null)
    {
        await Console.Error.WriteLineAsync(error);
        return 2;
    }
}

UserCommands.Command? users = null;
if (args is ["users", .. var userArgs])
{
    users = UserCommands.Parse(userArgs, out var error);
    if (users is null)
    {
        await Console.Error.WriteLineAsync(error);
        return 2;
    }
}
var command = keys is not null || users is not null;

var builder = WebApplication.CreateBuilder(command ? [] : args);
var migrate = args is ["migrate", ..];
if (migrate)
{
    // EF reports the missing history table of a first migration as an error; it isn't one.
    builder.Configuration["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore.Database.Command"] = "Fatal";
}
builder.UsePort("Web:Port", defaultPort: 5080);
if (!command) builder.AddTasksLogging();
else builder.Logging.ClearProviders(); // stdout carries the command's output (a new key) and nothing else
builder.AddTasksWeb();
var app = builder.Build();

if (keys is not null) return await KeyCommands.RunAsync(app.Services, keys, Console.Out, Console.Error, CancellationToken.None);
if (users is not null) return await UserCommands.RunAsync(app.Services, users, Console.In, Console.Out, Console.Error, CancellationToken.None);

if (migrate)
{
    // The one explicit schema step: ./dev up, deployments and the tests run it; hosts never migrate themselves.
    await TasksDatabase.MigrateAsync(app.Services, CancellationToken.None);
    return 0;
}

app.MapTasksWeb();
app.Run();
return 0;
