using System.Collections.Concurrent;
using Tasks.Core.Monitoring;

namespace Tasks.Worker.Monitoring;

/// <summary>
/// What this worker counted since it started, for its heartbeat: totals and, per task name, starts, outcomes and
/// latency histograms. Interlocked increments on counters found by name: no lock and no allocation per task.
/// </summary>
public sealed class WorkerCounters
{
    private readonly ConcurrentDictionary<string, NameCounters> _names = new(StringComparer.Ordinal);
    private long _processed, _succeeded, _failed, _retried;

    public long Processed => Interlocked.Read(ref _processed);
    public long Succeeded => Interlocked.Read(ref _succeeded);
    public long Failed => Interlocked.Read(ref _failed);
    public long Retried => Interlocked.Read(ref _retried);

    /// <summary>An attempt was claimed after waiting <paramref name="waited"/> since it was enqueued or due.</summary>
    public void Started(string name, TimeSpan waited) => For(name).Started(waited);

    /// <summary>An attempt's handler ran (and its success committed) in <paramref name="took"/>.</summary>
    public void Ran(string name, TimeSpan took) => For(name).Ran(took);

    /// <summary>An attempt's outcome was recorded.</summary>
    public void Ended(string name, AttemptEnd end)
    {
        Interlocked.Increment(ref _processed);
        switch (end)
        {
            case AttemptEnd.Succeeded: Interlocked.Increment(ref _succeeded); break;
            case AttemptEnd.Failed: Interlocked.Increment(ref _failed); break;
            case AttemptEnd.Retried: Interlocked.Increment(ref _retried); break;
        }
        For(name).Ended(end);
    }

    /// <summary>Every task name's figures as they are now (each counter read once; they only grow).</summary>
    public Dictionary<string, TaskNameStats> Snapshot() => _names.ToDictionary(n => n.Key, n => n.Value.Snapshot(), StringComparer.Ordinal);

    private NameCounters For(string name) => _names.GetOrAdd(name, static _ => new NameCounters());
}
