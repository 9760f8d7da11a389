using Tasks.Core.Hosting;
using Tasks.Worker;

var builder = WebApplication.CreateBuilder(args);
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--queues"] = "Worker:Queues",
    ["--concurrency"] = "Worker:Concurrency",
    ["--prefetch"] = "Worker:Prefetch",
    ["--name"] = "Worker:Name",
});
builder.UseHealthPort(defaultPort: 5081);
builder.AddTasksLogging();
builder.AddTasksWorker();
builder.Services.AddBuiltInHandlers();

var app = builder.Build();
app.MapTasksHealth();
app.Run();
