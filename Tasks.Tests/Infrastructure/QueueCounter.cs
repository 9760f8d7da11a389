using System.Diagnostics.Metrics;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// Adds up one of our counters (meter "Tasks") for one queue's tag, as operators read it (e.g.
/// <c>tasks_enqueued_total{task_queue=...}</c>), from the hosts running in the test's own process.
/// </summary>
public sealed class QueueCounter : IDisposable
{
    private readonly MeterListener _listener;
    private long _total;

    public QueueCounter(string instrument, string queue)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (published, listener) =>
            {
                if (published.Name == instrument && published.Meter.Name == "Tasks") listener.EnableMeasurementEvents(published);
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, n, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "task.queue", Value: string q } && q == queue) Interlocked.Add(ref _total, n);
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}
