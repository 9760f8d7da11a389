using System.Text.Json.Nodes;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;
using Tasks.Core.Registry;

namespace Tasks.Web.Apis;

/// <summary>A task as the API shows it.</summary>
public sealed record TaskResource(
    Guid Id, string Name, string Queue, string State, JsonNode? Args, JsonNode? Result, string? Error, string? ErrorDetails,
    int Attempts, int MaxAttempts, ProgressResource Progress,
    DateTimeOffset EnqueuedAt, DateTimeOffset? ScheduledFor, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    DateTimeOffset? ExpiresAt, int TimeLimitSeconds, bool CancelRequested, string? Worker, string? ScheduleName, string? IdempotencyKey, DateTimeOffset? ScheduledFireTime,
    string? TraceId)
{
    public static TaskResource From(TaskRecord t, TaskRegistry registry) => new(
        t.Id, t.Name, t.Queue, TaskStateMachine.NameOf(t.State), registry.Redacted(t.Name, t.Args), t.Result is null ? null : JsonNode.Parse(t.Result),
        t.Error, t.ErrorDetails, t.Attempts, t.MaxAttempts, new ProgressResource(t.ProgressCurrent, t.ProgressTotal, t.ProgressMessage),
        t.EnqueuedAt, t.ScheduledFor, t.StartedAt, t.FinishedAt, t.ExpiresAt, t.TimeLimitSeconds, t.CancelRequested,
        t.Worker, t.ScheduleName, t.IdempotencyKey, t.ScheduledFireTime, TraceIdOf(t.TraceParent));

    /// <summary>The trace id of a W3C <c>traceparent</c> (<c>00-{trace id}-{span id}-{flags}</c>), to look the task up in a tracing UI.</summary>
    public static string? TraceIdOf(string? traceParent) =>
        traceParent?.Split('-') is [_, { Length: 32 } traceId, _, _] ? traceId : null;
}

/// <summary>A task in a list: no args, result or stack trace.</summary>
public sealed record TaskListItem(
    Guid Id, string Name, string Queue, string State, string? Error, int Attempts, int MaxAttempts, ProgressResource Progress,
    DateTimeOffset EnqueuedAt, DateTimeOffset? ScheduledFor, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    string? Worker, string? ScheduleName)
{
    public static TaskListItem From(TaskSummary t) => new(
        t.Id, t.Name, t.Queue, TaskStateMachine.NameOf(t.State), t.Error, t.Attempts, t.MaxAttempts,
        new ProgressResource(t.ProgressCurrent, t.ProgressTotal, t.ProgressMessage),
        t.EnqueuedAt, t.ScheduledFor, t.StartedAt, t.FinishedAt, t.Worker, t.ScheduleName);
}

public sealed record ProgressResource(long? Current, long? Total, string? Message);

public sealed record TaskPage(IReadOnlyList<TaskListItem> Items, string? NextCursor);

public sealed record TaskBatchResult(IReadOnlyList<TaskResource> Items);
