using Tasks.Contracts.Demo;
using Tasks.Worker.Execution;

namespace Tasks.Worker.Handlers;

public sealed class EchoHandler : ITaskHandler<EchoArgs>
{
    public Task<TaskOutcome> RunAsync(EchoArgs args, TaskContext context) => Task.FromResult(TaskOutcome.Succeeded(args));
}
