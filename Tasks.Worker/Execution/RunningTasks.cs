using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Tasks.Core.Hosting;
using Tasks.Core.Telemetry;

namespace Tasks.Worker.Execution;

/// <summary>
/// The tasks this worker process is running now, so a cancel request can reach the right token, and each one's
/// lease: an attempt may run only while its lease is surely alive (see <see cref="RunningTask.Renewed"/>).
/// </summary>
public sealed class RunningTasks
{
    private readonly ConcurrentDictionary<Guid, RunningTask> _running = new();
    private readonly TimeProvider _clock;

    public RunningTasks(IMeterFactory meters, IOptions<WorkerOptions> options, IOptions<TasksOptions> tasks, TimeProvider clock)
    {
        _clock = clock;
        // Three quarters of the lease: the last quarter is for the handler to honour its token, for the renewal's own
        // round trip, and for clocks that don't run at quite the same rate (see docs/design.md, "The lease is the only
        // licence to run"); any earlier, and a cold worker on a busy machine stops tasks it still holds.
        LeaseDeadline = TimeSpan.FromSeconds(tasks.Value.LeaseSeconds) * 3 / 4;
        var worker = new KeyValuePair<string, object?>("worker", options.Value.ResolvedName);
        meters.Create(TasksTelemetry.Name).CreateObservableGauge("tasks.running",
            () => new Measurement<int>(_running.Count, worker), description: "Tasks this worker is running now.");
    }

    /// <summary>How long after the start of its last successful renewal an attempt is stopped, unless renewed again.</summary>
    public TimeSpan LeaseDeadline { get; }

    public int Count => _running.Count;

    public IReadOnlyCollection<Guid> Ids => [.. _running.Keys];

    /// <summary>The attempts whose claim committed and whose lease is still held: those the heartbeat renews.</summary>
    public IReadOnlyCollection<Guid> Leased => [.. _running.Values.Where(r => r.Leased).Select(r => r.Id)];

    /// <summary>
    /// Null when this process already runs the task (a duplicate message): the caller drops it. Throws while an
    /// attempt of it that lost its lease is still stopping here: the message is tried again in a moment.
    /// </summary>
    public RunningTask? TryStart(Guid id, CancellationToken shutdown)
    {
        var running = new RunningTask(id, this, _clock, shutdown);
        if (_running.TryAdd(id, running)) return running;
        // An attempt whose outcome is being written: a message now is most likely its retry, published by the relay
        // as soon as the outcome committed (a back-off of 0), not a duplicate. It takes the entry over and its claim
        // decides; dropped, it would have waited for Relay:QueuedGraceSeconds.
        if (_running.TryGetValue(id, out var ending) && ending.IsFinishing && _running.TryUpdate(id, running, ending)) return running;
        running.Dispose();
        if (_running.TryGetValue(id, out var other) && (other.LeaseLost || other.PuttingBack))
            throw new InvalidOperationException($"Task {id}: an attempt of it that ends without an outcome is still stopping on this worker.");
        return null;
    }

    public bool RequestCancel(Guid id)
    {
        if (!_running.TryGetValue(id, out var task)) return false;
        try
        {
            task.RequestCancel();
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false; // it finished while we looked
        }
    }

    /// <summary>Extends the leases renewed by a heartbeat that began at <paramref name="startedAt"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public void Renewed(IEnumerable<Guid> ids, long startedAt)
    {
        foreach (var id in ids)
            if (_running.TryGetValue(id, out var task)) task.Renewed(startedAt);
    }

    /// <summary>
    /// A heartbeat that began at <paramref name="startedAt"/> says the task is no longer this worker's: stop it now.
    /// False if it isn't running here, or if the attempt running it now was claimed after that heartbeat began (the
    /// answer was about an earlier attempt of the same task).
    /// </summary>
    public bool LoseLease(Guid id, long startedAt) => _running.TryGetValue(id, out var task) && task.LoseLease(startedAt);

    internal void Remove(RunningTask task) => _running.TryRemove(new KeyValuePair<Guid, RunningTask>(task.Id, task));
}
