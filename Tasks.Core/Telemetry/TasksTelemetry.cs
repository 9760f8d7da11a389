using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Tasks.Core.Telemetry;

/// <summary>
/// The names Tasks reports under, and its counters and histograms. Every instrument carries <c>task.name</c> and
/// <c>task.queue</c>; Prometheus sees them as <c>tasks_enqueued_total{task_name=...,task_queue=...}</c> and so on.
/// </summary>
public sealed class TasksTelemetry
{
    public const string Name = "Tasks";

    /// <summary>Spans of our own (a task's run, a release by the relay); MassTransit and Npgsql bring theirs.</summary>
    public static readonly ActivitySource Source = new(Name);

    private readonly Counter<long> _enqueued, _started, _succeeded, _failed, _retried, _canceled, _expired, _handedBack, _publishFailed;
    private readonly Histogram<double> _runTime, _queueWait;

    public TasksTelemetry(IMeterFactory meters)
    {
        var meter = meters.Create(Name);
        _enqueued = meter.CreateCounter<long>("tasks.enqueued", description: "Tasks accepted (committed).");
        _started = meter.CreateCounter<long>("tasks.started", description: "Attempts started.");
        _succeeded = meter.CreateCounter<long>("tasks.succeeded", description: "Tasks that succeeded.");
        _failed = meter.CreateCounter<long>("tasks.failed", description: "Tasks that failed for good (attempts exhausted, timed out, or failed by their handler).");
        _retried = meter.CreateCounter<long>("tasks.retried", description: "Failed attempts scheduled to run again.");
        _canceled = meter.CreateCounter<long>("tasks.canceled", description: "Tasks canceled, running or not.");
        _expired = meter.CreateCounter<long>("tasks.expired", description: "Tasks skipped because they were past expiresAt.");
        _handedBack = meter.CreateCounter<long>("tasks.handed_back",
            description: "Tasks a worker sent back to their queue after waiting Worker:HandBackSeconds for a slot (by task.queue only: the message names no task).");
        _publishFailed = meter.CreateCounter<long>("tasks.publish_failed",
            description: "Tasks failed for good because the broker refused every publish of them (Relay:MaxPublishAttempts in a row); also counted in tasks.failed.");
        _runTime = meter.CreateHistogram<double>("tasks.run.duration", unit: "s", description: "How long an attempt ran.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] });
        _queueWait = meter.CreateHistogram<double>("tasks.queue.wait", unit: "s", description: "From enqueue (or due time) to start.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
    }

    public void Enqueued(string name, string queue) => _enqueued.Add(1, Tags(name, queue));
    public void Started(string name, string queue, TimeSpan waited)
    {
        _started.Add(1, Tags(name, queue));
        _queueWait.Record(Math.Max(0, waited.TotalSeconds), Tags(name, queue));
    }
    public void Ran(string name, string queue, TimeSpan took) => _runTime.Record(took.TotalSeconds, Tags(name, queue));
    public void Succeeded(string name, string queue) => _succeeded.Add(1, Tags(name, queue));
    public void Failed(string name, string queue) => _failed.Add(1, Tags(name, queue));
    public void Retried(string name, string queue) => _retried.Add(1, Tags(name, queue));
    public void Canceled(string name, string queue) => _canceled.Add(1, Tags(name, queue));
    public void Expired(string name, string queue) => _expired.Add(1, Tags(name, queue));
    public void PublishFailed(string name, string queue) => _publishFailed.Add(1, Tags(name, queue));

    public void HandedBack(string queue, int count) => _handedBack.Add(count, new KeyValuePair<string, object?>("task.queue", queue));

    private static TagList Tags(string name, string queue) => new() { { "task.name", name }, { "task.queue", queue } };
}
