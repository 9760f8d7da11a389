using System.Diagnostics;
using MassTransit;
using Tasks.Contracts.Messages;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Hands committed tasks to the broker: one durable, persistent, confirmed <see cref="RunTask"/> per task, sent to
/// the queue named after the task's queue. Sends are awaited one by one so the broker sees them in the given order.
/// A task published later than its enqueue (delayed, swept) is published inside the trace that enqueued it.
/// </summary>
public sealed class TaskPublisher(ISendEndpointProvider endpoints)
{
    public static Uri QueueAddress(string queue) => new($"queue:{queue}");

    public async Task PublishAsync(IReadOnlyList<TaskToPublish> tasks, CancellationToken ct)
    {
        ISendEndpoint? endpoint = null;
        string? endpointQueue = null;
        foreach (var task in tasks)
        {
            if (endpointQueue != task.Queue)
            {
                endpoint = await endpoints.GetSendEndpoint(QueueAddress(task.Queue));
                endpointQueue = task.Queue;
            }
            using var activity = task.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var context)
                ? TasksTelemetry.Source.StartActivity("task.publish", ActivityKind.Producer, context)
                : null;
            activity?.SetTag("task.id", task.Id).SetTag("task.name", task.Name).SetTag("task.queue", task.Queue);
            await endpoint!.Send(new RunTask(task.Id, task.Name), ct);
        }
    }
}
