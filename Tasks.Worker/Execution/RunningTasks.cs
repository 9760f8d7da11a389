using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Tasks.Core.Telemetry;

namespace Tasks.Worker.Execution;

/// <summary>The tasks this worker process is running now, so a cancel request can reach the right token.</summary>
public sealed class RunningTasks
{
    private readonly ConcurrentDictionary<Guid, RunningTask> _running = new();

    public RunningTasks(IMeterFactory meters, IOptions<WorkerOptions> options)
    {
        var worker = new KeyValuePair<string, object?>("worker", options.Value.ResolvedName);
        meters.Create(TasksTelemetry.Name).CreateObservableGauge("tasks.running",
            () => new Measurement<int>(_running.Count, worker), description: "Tasks this worker is running now.");
    }

    public int Count => _running.Count;

    public IReadOnlyCollection<Guid> Ids => [.. _running.Keys];

    /// <summary>Null when this process already runs the task (a duplicate message): the caller drops it.</summary>
    public RunningTask? TryStart(Guid id, CancellationToken shutdown)
    {
        var running = new RunningTask(id, this, shutdown);
        if (_running.TryAdd(id, running)) return running;
        running.Dispose();
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

    internal void Remove(RunningTask task) => _running.TryRemove(new KeyValuePair<Guid, RunningTask>(task.Id, task));
}

/// <summary>One running attempt's cancellation: why its token fired decides what is recorded.</summary>
public sealed class RunningTask : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly CancellationTokenSource _timeLimit = new();
    private readonly CancellationTokenSource _token;
    private readonly RunningTasks _owner;
    private readonly CancellationToken _shutdown;

    internal RunningTask(Guid id, RunningTasks owner, CancellationToken shutdown)
    {
        Id = id;
        _owner = owner;
        _shutdown = shutdown;
        _token = CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token, _timeLimit.Token, shutdown);
    }

    public Guid Id { get; }
    public CancellationToken Token => _token.Token;
    public bool CancelRequested => _cancel.IsCancellationRequested;
    public bool TimedOut => _timeLimit.IsCancellationRequested;
    public bool ShuttingDown => _shutdown.IsCancellationRequested;

    internal void RequestCancel() => _cancel.Cancel();

    internal void StartTimeLimit(TimeSpan limit)
    {
        if (limit > TimeSpan.Zero) _timeLimit.CancelAfter(limit);
    }

    public void Dispose()
    {
        _owner.Remove(this);
        _token.Dispose();
        _cancel.Dispose();
        _timeLimit.Dispose();
    }
}
