using System.Text.Json;
using Tasks.Core.Entities;
using Tasks.Core.Monitoring;

namespace Tasks.Web.Apis;

/// <summary>A worker as the API shows it: its last heartbeat and the state that makes it (online, offline, stopped).</summary>
public sealed record WorkerResource(
    string Name, string Host, int Pid, string Version, string State, IReadOnlyList<WorkerQueue> Queues, IReadOnlyList<Guid> Running,
    long Processed, long Succeeded, long Failed, long Retried, DateTimeOffset StartedAt, DateTimeOffset LastHeartbeat, DateTimeOffset? StoppedAt)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static WorkerResource From(WorkerRecord w, WorkerState state) => new(
        w.Name, w.Host, w.Pid, w.Version, WorkerStates.NameOf(state), JsonSerializer.Deserialize<List<WorkerQueue>>(w.Queues, Json) ?? [],
        w.Running, w.Processed, w.Succeeded, w.Failed, w.Retried, w.StartedAt, w.HeartbeatAt, w.StoppedAt);
}

public sealed record WorkerList(IReadOnlyList<WorkerResource> Items);
