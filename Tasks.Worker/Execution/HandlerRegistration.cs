using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tasks.Core.Registry;

namespace Tasks.Worker.Execution;

/// <summary>A handler found by its task's name: reads the stored args into the contract type and calls the handler.</summary>
public sealed class HandlerRegistration
{
    private readonly Func<IServiceProvider, string, TaskContext, Task<TaskOutcome>> _invoke;

    private HandlerRegistration(TaskDefinition definition, Func<IServiceProvider, string, TaskContext, Task<TaskOutcome>> invoke)
    {
        Definition = definition;
        _invoke = invoke;
    }

    public TaskDefinition Definition { get; }

    public Task<TaskOutcome> InvokeAsync(IServiceProvider scope, string argsJson, TaskContext context) => _invoke(scope, argsJson, context);

    internal static HandlerRegistration For<TArgs, THandler>()
        where TArgs : class
        where THandler : class, ITaskHandler<TArgs>
    {
        var typeInfo = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<TArgs>)TaskRegistry.ArgsJson.GetTypeInfo(typeof(TArgs));
        return new HandlerRegistration(TaskDefinition.For(typeof(TArgs)), (scope, json, context) =>
        {
            var args = JsonSerializer.Deserialize(json, typeInfo)
                ?? throw new JsonException($"Stored args of task {context.TaskId} are null.");
            return scope.GetRequiredService<THandler>().RunAsync(args, context);
        });
    }
}
