namespace Tasks.Core.Telemetry;

/// <summary>Counts events and says when a minute has passed since the last report, so a failure repeated every
/// flush is logged once a minute with its count.</summary>
internal sealed class LogThrottle
{
    private static readonly TimeSpan ReportEvery = TimeSpan.FromMinutes(1);
    private DateTimeOffset _last = DateTimeOffset.MinValue;
    private int _count;

    /// <returns>The events since the last report when one is due, else null.</returns>
    public int? Due(TimeProvider time, int events)
    {
        _count += events;
        var now = time.GetUtcNow();
        if (now - _last < ReportEvery) return null;
        _last = now;
        var count = _count;
        _count = 0;
        return count;
    }
}
