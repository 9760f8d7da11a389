namespace Tasks.Core.Monitoring;

/// <summary>Sums and percentiles of counts per <see cref="LatencyBuckets"/> bucket.</summary>
public static class LatencyHistogram
{
    public static long[] Empty() => new long[LatencyBuckets.UpperBoundsMs.Length];

    /// <summary>Adds <paramref name="counts"/> into <paramref name="into"/>, times <paramref name="sign"/> (a shorter array adds to the first buckets).</summary>
    public static void Add(long[] into, long[]? counts, int sign = 1)
    {
        if (counts is null) return;
        for (var i = 0; i < Math.Min(into.Length, counts.Length); i++) into[i] += sign * counts[i];
    }

    /// <summary>
    /// The <paramref name="quantile"/> in milliseconds, interpolated within its bucket as Prometheus'
    /// <c>histogram_quantile</c> does; the unbounded last bucket answers its lower bound. Null when nothing was counted.
    /// </summary>
    public static double? Percentile(long[] counts, double quantile)
    {
        long total = 0;
        foreach (var c in counts) total += Math.Max(0, c);
        if (total == 0) return null;
        var rank = quantile * total;
        long below = 0;
        var bounds = LatencyBuckets.UpperBoundsMs;
        for (var i = 0; i < counts.Length; i++)
        {
            var n = Math.Max(0, counts[i]);
            if (n > 0 && below + n >= rank)
            {
                var lower = i == 0 ? 0 : bounds[i - 1];
                if (double.IsPositiveInfinity(bounds[i])) return lower;
                return lower + (bounds[i] - lower) * Math.Clamp((rank - below) / n, 0, 1);
            }
            below += n;
        }
        return bounds[^2];
    }
}
