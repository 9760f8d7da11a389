using Tasks.Core.Lifecycle;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Runs of consecutive tasks of one queue, every task once per message (a task given twice goes out in two
/// messages, as asked), traced and untraced tasks apart (an untraced one must not run in another's trace); the
/// order kept. A queue's messages carry <see cref="TasksPerMessage"/> tasks each, more when there are so many that
/// it still gets <see cref="MessagesPerQueue"/> messages, and never more than the limit: a bulk load costs the
/// broker less per task, and a few hundred tasks still spread over several workers.
/// </summary>
internal static class MessagePacking
{
    /// <summary>How many tasks of a queue share a message when there are few of them.</summary>
    internal const int TasksPerMessage = 10;

    /// <summary>How many messages a queue's tasks of one batch are spread over at least, once there are enough of them.</summary>
    internal const int MessagesPerQueue = 10;

    internal static List<List<TaskToPublish>> Pack(IReadOnlyList<TaskToPublish> tasks, int max)
    {
        var perQueue = tasks.CountBy(t => t.Queue, StringComparer.Ordinal).ToDictionary(
            q => q.Key, q => Math.Clamp((q.Value + MessagesPerQueue - 1) / MessagesPerQueue, Math.Min(TasksPerMessage, max), max), StringComparer.Ordinal);

        var messages = new List<List<TaskToPublish>>();
        List<TaskToPublish>? current = null;
        foreach (var task in tasks)
        {
            if (current is null || current.Count >= perQueue[task.Queue] || current[0].Queue != task.Queue || current.Exists(t => t.Id == task.Id)
                || (current[0].TraceParent is null) != (task.TraceParent is null))
                messages.Add(current = new List<TaskToPublish>(Math.Min(perQueue[task.Queue], tasks.Count)));
            current.Add(task);
        }
        return messages;
    }
}
