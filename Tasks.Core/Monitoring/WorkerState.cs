using Tasks.Core.Entities;

namespace Tasks.Core.Monitoring;

public enum WorkerState { Online, Offline, Stopped }

public static class WorkerStates
{
    /// <summary>Missed heartbeats after which a worker that didn't say it stopped is taken for gone.</summary>
    public const int MissedBeforeOffline = 3;

    public static WorkerState Of(WorkerRecord worker, DateTimeOffset now) =>
        worker.StoppedAt is not null ? WorkerState.Stopped
        : now - worker.HeartbeatAt > TimeSpan.FromSeconds(MissedBeforeOffline * worker.HeartbeatSeconds) ? WorkerState.Offline
        : WorkerState.Online;

    public static string NameOf(WorkerState state) => state switch
    {
        WorkerState.Online => "online",
        WorkerState.Offline => "offline",
        _ => "stopped",
    };
}
