using System.Buffers;
using System.Diagnostics;
using System.Text.Json;
using RabbitMQ.Client;
using Tasks.Contracts.Messages;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// MassTransit's JSON envelope around a <see cref="RunTask"/> or <see cref="RunTasks"/>, and the properties
/// MassTransit sets, so the workers' MassTransit consumers read it like any other message. The trace travels in
/// the header MassTransit reads (<c>MT-Activity-Id</c>).
/// </summary>
internal static class RunTaskEnvelope
{
    private const string ContentType = "application/vnd.masstransit+json";
    private static readonly JsonEncodedText RunTaskType = MessageType(nameof(RunTask));
    private static readonly JsonEncodedText RunTasksType = MessageType(nameof(RunTasks));

    private static JsonEncodedText MessageType(string name) => JsonEncodedText.Encode($"urn:message:{typeof(RunTask).Namespace}:{name}");

    /// <summary>Writes the message into <paramref name="buffer"/>; throws for a name or trace that can't be written.</summary>
    public static (BasicProperties, ReadOnlyMemory<byte>) Write(List<TaskToPublish> tasks, ArrayBufferWriter<byte> buffer)
    {
        var messageId = Guid.CreateVersion7();
        var traceParent = Trace(tasks);
        var start = buffer.WrittenCount;
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("messageId", messageId);
            json.WriteString("conversationId", messageId);
            json.WriteStartArray("messageType");
            json.WriteStringValue(tasks.Count == 1 ? RunTaskType : RunTasksType);
            json.WriteEndArray();
            WriteMessage(json, tasks);
            json.WriteString("sentTime", DateTime.UtcNow);
            json.WriteStartObject("headers");
            json.WriteEndObject();
            json.WriteEndObject();
        }
        var properties = new BasicProperties
        {
            MessageId = messageId.ToString(),
            ContentType = ContentType,
            DeliveryMode = DeliveryModes.Persistent,
            Headers = traceParent is null ? null : new Dictionary<string, object?> { ["MT-Activity-Id"] = traceParent },
        };
        return (properties, buffer.WrittenMemory[start..]);
    }

    // A task published later than its enqueue (delayed, swept) goes out inside the trace that enqueued it.
    private static string? Trace(List<TaskToPublish> tasks)
    {
        var first = tasks[0];
        var parent = first.TraceParent is { } stored && ActivityContext.TryParse(stored, null, isRemote: true, out var context) ? context : default;
        using var activity = TasksTelemetry.Source.StartActivity("task.publish", ActivityKind.Producer, parent);
        if (activity is not null)
        {
            if (tasks.Count == 1) activity.SetTag("task.id", first.Id).SetTag("task.name", first.Name);
            else activity.SetTag("task.count", tasks.Count);
            activity.SetTag("task.queue", first.Queue).SetTag("messaging.system", "rabbitmq").SetTag("messaging.destination.name", first.Queue);
        }
        return activity?.Id ?? first.TraceParent ?? Activity.Current?.Id;
    }

    private static void WriteMessage(Utf8JsonWriter json, List<TaskToPublish> tasks)
    {
        var first = tasks[0];
        json.WriteStartObject("message");
        if (tasks.Count == 1)
        {
            json.WriteString("taskId", first.Id);
            json.WriteString("name", first.Name);
        }
        else
        {
            json.WriteStartArray("taskIds");
            foreach (var task in tasks) json.WriteStringValue(task.Id);
            json.WriteEndArray();
            if (tasks.Exists(t => t.TraceParent != first.TraceParent))
            {
                // Tasks of several callers (traces): each runs in its own.
                json.WriteStartArray("traceParents");
                foreach (var task in tasks) json.WriteStringValue(task.TraceParent);
                json.WriteEndArray();
            }
        }
        json.WriteEndObject();
    }
}
