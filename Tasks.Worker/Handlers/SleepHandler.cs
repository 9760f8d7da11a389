using Tasks.Contracts.Demo;
using Tasks.Worker.Execution;

namespace Tasks.Worker.Handlers;

public sealed class SleepHandler(TimeProvider clock) : ITaskHandler<SleepArgs>
{
    public async Task<TaskOutcome> RunAsync(SleepArgs args, TaskContext context)
    {
        for (var second = 0; second < args.Seconds; second++)
        {
            await context.ReportProgressAsync(second, args.Seconds, $"slept {second} of {args.Seconds} s");
            await Task.Delay(TimeSpan.FromSeconds(1), clock, context.CancellationToken);
        }
        await context.ReportProgressAsync(args.Seconds, args.Seconds, "done");
        return TaskOutcome.Succeeded(new { slept = args.Seconds });
    }
}
