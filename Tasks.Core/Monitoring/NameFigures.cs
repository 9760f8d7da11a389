namespace Tasks.Core.Monitoring;

/// <summary>
/// One task name in one interval (<see cref="Entities.MonitorSnapshot.Names"/>): attempts started and ended, the run
/// time and queue wait percentiles in milliseconds, and the histograms they come from, kept so that a series can
/// add intervals up and take percentiles again (<see cref="LatencyHistogram"/>).
/// </summary>
public sealed record NameFigures(
    long Started, long Succeeded, long Failed, long Retried,
    double? RunP50, double? RunP95, double? RunP99, double? WaitP50, double? WaitP95,
    long[] RunMs, long[] WaitMs)
{
    public static NameFigures From(long started, long succeeded, long failed, long retried, long[] runMs, long[] waitMs) => new(
        started, succeeded, failed, retried,
        LatencyHistogram.Percentile(runMs, 0.50), LatencyHistogram.Percentile(runMs, 0.95), LatencyHistogram.Percentile(runMs, 0.99),
        LatencyHistogram.Percentile(waitMs, 0.50), LatencyHistogram.Percentile(waitMs, 0.95), runMs, waitMs);

    /// <summary>Attempts that ended; failures are the ones that failed or will be retried.</summary>
    public long Ended => Succeeded + Failed + Retried;
}
