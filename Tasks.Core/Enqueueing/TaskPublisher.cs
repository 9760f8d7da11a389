using MassTransit;
using Tasks.Contracts.Messages;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Hands committed tasks to the broker: one durable, persistent, confirmed <see cref="RunTask"/> per task, sent to
/// the queue named after the task's queue. Sends are awaited one by one so the broker sees them in the given order.
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
            await endpoint!.Send(new RunTask(task.Id, task.Name), ct);
        }
    }
}
