using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Worker.Execution;

/// <summary>Begins each attempt's <see cref="HandlerTransaction"/>, and holds what they share.</summary>
public sealed partial class HandlerTransactions(
    IServiceScopeFactory scopes, TaskStateMachine lifecycle, StopGrace grace, HandlerAbandonment abandonment,
    TasksTelemetry telemetry, ILogger<HandlerTransaction> logger)
{
    internal TaskStateMachine Lifecycle => lifecycle;
    internal StopGrace Grace => grace;
    internal HandlerAbandonment Abandonment => abandonment;
    internal TasksTelemetry Telemetry => telemetry;
    internal ILogger Logger => logger;

    public HandlerTransaction Begin(ClaimedTask task, RunningTask attempt) => new(this, scopes.CreateAsyncScope(), task, attempt);
}
