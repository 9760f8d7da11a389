using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;
using Tasks.Worker.Monitoring;

namespace Tasks.Worker.Execution;

/// <summary>Begins each attempt's <see cref="HandlerTransaction"/>, and holds what they share.</summary>
public sealed partial class HandlerTransactions(
    IServiceScopeFactory scopes, TaskStateMachine lifecycle, StopGrace grace, HandlerAbandonment abandonment,
    TasksTelemetry telemetry, WorkerCounters counters, ILogger<HandlerTransaction> logger)
{
    internal TaskStateMachine Lifecycle => lifecycle;
    internal StopGrace Grace => grace;
    internal HandlerAbandonment Abandonment => abandonment;
    internal TasksTelemetry Telemetry => telemetry;
    internal WorkerCounters Counters => counters;
    internal ILogger Logger => logger;

    public HandlerTransaction Begin(ClaimedTask task, RunningTask attempt, SlotHold slot) => new(this, scopes.CreateAsyncScope(), task, attempt, slot);
}
