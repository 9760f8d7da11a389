using Tasks.Core.Monitoring;

namespace Tasks.Worker.Monitoring;

/// <summary>One task name's counters in <see cref="WorkerCounters"/>.</summary>
internal sealed class NameCounters
{
    private readonly long[] _runMs = new long[LatencyBuckets.UpperBoundsMs.Length];
    private readonly long[] _waitMs = new long[LatencyBuckets.UpperBoundsMs.Length];
    private long _started, _succeeded, _failed, _retried;

    public void Started(TimeSpan waited)
    {
        Interlocked.Increment(ref _started);
        Interlocked.Increment(ref _waitMs[LatencyBuckets.IndexOf(Math.Max(0, waited.TotalMilliseconds))]);
    }

    public void Ran(TimeSpan took) => Interlocked.Increment(ref _runMs[LatencyBuckets.IndexOf(took.TotalMilliseconds)]);

    public void Ended(AttemptEnd end)
    {
        switch (end)
        {
            case AttemptEnd.Succeeded: Interlocked.Increment(ref _succeeded); break;
            case AttemptEnd.Failed: Interlocked.Increment(ref _failed); break;
            case AttemptEnd.Retried: Interlocked.Increment(ref _retried); break;
        }
    }

    public TaskNameStats Snapshot() => new(
        Interlocked.Read(ref _started), Interlocked.Read(ref _succeeded), Interlocked.Read(ref _failed), Interlocked.Read(ref _retried),
        Read(_runMs), Read(_waitMs));

    private static long[] Read(long[] buckets)
    {
        var copy = new long[buckets.Length];
        for (var i = 0; i < copy.Length; i++) copy[i] = Interlocked.Read(ref buckets[i]);
        return copy;
    }
}
