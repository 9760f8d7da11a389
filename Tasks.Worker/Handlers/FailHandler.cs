using Tasks.Contracts.Demo;
using Tasks.Worker.Execution;

namespace Tasks.Worker.Handlers;

/// <summary>Fails by throwing, as a real bug would, so the unexpected-exception path is what gets exercised.</summary>
public sealed class FailHandler : ITaskHandler<FailArgs>
{
    public Task<TaskOutcome> RunAsync(FailArgs args, TaskContext context) =>
        args.FailTimes is null || context.Attempt <= args.FailTimes
            ? throw new DemoFailureException(args.Message)
            : Task.FromResult(TaskOutcome.Succeeded(new { attempts = context.Attempt }));
}

public sealed class DemoFailureException(string message) : Exception(message);
