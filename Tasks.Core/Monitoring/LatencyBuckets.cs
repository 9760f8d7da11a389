namespace Tasks.Core.Monitoring;

/// <summary>The histogram buckets workers count run times and queue waits in; the last one is unbounded.</summary>
public static class LatencyBuckets
{
    public static readonly double[] UpperBoundsMs =
        [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000, double.PositiveInfinity];

    /// <summary>The index of the bucket <paramref name="milliseconds"/> falls in.</summary>
    public static int IndexOf(double milliseconds)
    {
        var i = Array.BinarySearch(UpperBoundsMs, milliseconds);
        return i >= 0 ? i : ~i;
    }
}
