using Tasks.Core.Hosting;
using Tasks.Scheduler;

var builder = WebApplication.CreateBuilder(args);
builder.UseHealthPort(defaultPort: 5082);
builder.AddTasksLogging();
builder.AddTasksScheduler();

var app = builder.Build();
app.MapTasksHealth();
app.Run();
