namespace Tasks.Core.Monitoring;

/// <summary>
/// What one worker counted for one task name since it started (<see cref="Entities.WorkerRecord.Stats"/>). The camera
/// sums the differences between two snapshots over all workers, so it never reads the tasks table.
/// </summary>
/// <param name="RunMs">Run times (start to outcome) per bucket of <see cref="LatencyBuckets.UpperBoundsMs"/>.</param>
/// <param name="WaitMs">Queue waits (enqueued, or due when scheduled, to start) per bucket of <see cref="LatencyBuckets.UpperBoundsMs"/>.</param>
public sealed record TaskNameStats(long Started, long Succeeded, long Failed, long Retried, long[] RunMs, long[] WaitMs);
