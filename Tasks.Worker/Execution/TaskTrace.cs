using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Worker.Execution;

/// <summary>
/// A claimed task's span and log scope, for as long as its attempt runs. The span goes in the trace that enqueued
/// the task: the message's (the consume span, current here), or its own when the message carried tasks of several.
/// </summary>
internal readonly struct TaskTrace : IDisposable
{
    private readonly Activity? _activity;
    private readonly IDisposable? _scope;

    private TaskTrace(Activity? activity, IDisposable? scope) => (_activity, _scope) = (activity, scope);

    public static TaskTrace Start(ClaimedTask task, string? traceParent, ILogger logger)
    {
        var activity = traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent)
            ? TasksTelemetry.Source.StartActivity($"task.run {task.Name}", ActivityKind.Internal, parent)
            : TasksTelemetry.Source.StartActivity($"task.run {task.Name}");
        activity?.SetTag("task.id", task.Id).SetTag("task.name", task.Name).SetTag("task.queue", task.Queue)
            .SetTag("task.attempt", task.Attempt).SetTag("task.worker", task.Worker);
        var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["TaskId"] = task.Id, ["TaskName"] = task.Name, ["Attempt"] = task.Attempt, ["Queue"] = task.Queue, ["Worker"] = task.Worker,
        });
        return new TaskTrace(activity, scope);
    }

    /// <summary>The attempt ended in anything but success.</summary>
    public void Failed(TaskOutcome outcome) => _activity?.SetStatus(ActivityStatusCode.Error, outcome.GetType().Name);

    public void Dispose()
    {
        _scope?.Dispose();
        _activity?.Dispose();
    }
}
