using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Tasks.Core.Hosting;
using Tasks.Core.Telemetry;

namespace Tasks.Worker.Execution;

/// <summary>
/// The tasks this worker process is running now, so a cancel request can reach the right token, and each one's
/// lease: an attempt may run only while its lease is surely alive (see <see cref="RunningTask.Renewed"/>).
/// </summary>
public sealed class RunningTasks
{
    private readonly ConcurrentDictionary<Guid, RunningTask> _running = new();
    private readonly TimeProvider _clock;

    public RunningTasks(IMeterFactory meters, IOptions<WorkerOptions> options, IOptions<TasksOptions> tasks, TimeProvider clock)
    {
        _clock = clock;
        // Half the lease: the other half is for the handler to honour its token, for the renewal's own round trip,
        // and for clocks that don't run at quite the same rate (see docs/design.md, "The lease is the only licence to run").
        LeaseDeadline = TimeSpan.FromSeconds(tasks.Value.LeaseSeconds) / 2;
        var worker = new KeyValuePair<string, object?>("worker", options.Value.ResolvedName);
        meters.Create(TasksTelemetry.Name).CreateObservableGauge("tasks.running",
            () => new Measurement<int>(_running.Count, worker), description: "Tasks this worker is running now.");
    }

    /// <summary>How long after the start of its last successful renewal an attempt is stopped, unless renewed again.</summary>
    public TimeSpan LeaseDeadline { get; }

    public int Count => _running.Count;

    public IReadOnlyCollection<Guid> Ids => [.. _running.Keys];

    /// <summary>The attempts whose claim committed and whose lease is still held: those the heartbeat renews.</summary>
    public IReadOnlyCollection<Guid> Leased => [.. _running.Values.Where(r => r.Leased).Select(r => r.Id)];

    /// <summary>
    /// Null when this process already runs the task (a duplicate message): the caller drops it. Throws while an
    /// attempt of it that lost its lease is still stopping here: the message is tried again in a moment.
    /// </summary>
    public RunningTask? TryStart(Guid id, CancellationToken shutdown)
    {
        var running = new RunningTask(id, this, _clock, shutdown);
        if (_running.TryAdd(id, running)) return running;
        running.Dispose();
        if (_running.TryGetValue(id, out var other) && (other.LeaseLost || other.PuttingBack))
            throw new InvalidOperationException($"Task {id}: an attempt of it that ends without an outcome is still stopping on this worker.");
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

    /// <summary>Extends the leases renewed by a heartbeat that began at <paramref name="startedAt"/> (a <see cref="TimeProvider"/> timestamp).</summary>
    public void Renewed(IEnumerable<Guid> ids, long startedAt)
    {
        foreach (var id in ids)
            if (_running.TryGetValue(id, out var task)) task.Renewed(startedAt);
    }

    /// <summary>The database says the task is no longer this worker's: stop it now. False if it isn't running here.</summary>
    public bool LoseLease(Guid id) => _running.TryGetValue(id, out var task) && task.LoseLease();

    internal void Remove(RunningTask task) => _running.TryRemove(new KeyValuePair<Guid, RunningTask>(task.Id, task));
}

/// <summary>One running attempt's cancellation: why its token fired decides what is recorded.</summary>
public sealed class RunningTask : IDisposable
{
    private readonly CancellationTokenSource _cancel = new();
    private readonly CancellationTokenSource _timeLimit = new();
    private readonly CancellationTokenSource _lease;
    private readonly CancellationTokenSource _token;
    private readonly RunningTasks _owner;
    private readonly CancellationToken _shutdown;
    private readonly TimeProvider _clock;
    private readonly Lock _lock = new();
    private long _renewedAt;
    private bool _leased;
    private bool _finishing;
    private bool _puttingBack;
    private bool _taken;
    private bool _disposed;

    internal RunningTask(Guid id, RunningTasks owner, TimeProvider clock, CancellationToken shutdown)
    {
        Id = id;
        _owner = owner;
        _shutdown = shutdown;
        _clock = clock;
        _lease = new CancellationTokenSource(Timeout.InfiniteTimeSpan, clock); // armed by the claim
        _token = CancellationTokenSource.CreateLinkedTokenSource(_cancel.Token, _timeLimit.Token, _lease.Token, shutdown);
    }

    public Guid Id { get; }
    public CancellationToken Token => _token.Token;
    public bool CancelRequested => _cancel.IsCancellationRequested;
    public bool TimedOut => _timeLimit.IsCancellationRequested;
    public bool ShuttingDown => _shutdown.IsCancellationRequested;

    /// <summary>The lease can't be counted on any more: the attempt must stop and record nothing.</summary>
    public bool LeaseLost => _lease.IsCancellationRequested;

    /// <summary>The database said the task is no longer this worker's (not merely a renewal that came too late).</summary>
    public bool LeaseTaken
    {
        get { lock (_lock) return _taken; }
    }

    /// <summary>Fires when the lease is lost.</summary>
    public CancellationToken LeaseToken => _lease.Token;

    /// <summary>Ends without an outcome: its message goes back to the queue once this attempt is gone.</summary>
    internal bool PuttingBack
    {
        get { lock (_lock) return _puttingBack; }
    }

    internal bool Leased
    {
        get { lock (_lock) return _leased && !_lease.IsCancellationRequested; }
    }

    internal void RequestCancel() => _cancel.Cancel();

    internal void StartTimeLimit(TimeSpan limit)
    {
        if (limit > TimeSpan.Zero) _timeLimit.CancelAfter(limit);
    }

    /// <summary>The claim committed; it took the lease in a statement that began at <paramref name="startedAt"/>.</summary>
    internal void Claimed(long startedAt)
    {
        lock (_lock)
        {
            _leased = true;
            _renewedAt = startedAt;
            Arm();
        }
    }

    /// <summary>
    /// A renewal that began at <paramref name="startedAt"/> committed. The database set the lease at some moment
    /// after that, so counting from the start, on this process's monotonic clock, can only end early, never late.
    /// </summary>
    internal void Renewed(long startedAt)
    {
        lock (_lock)
        {
            if (!_leased || _disposed || _lease.IsCancellationRequested || startedAt <= _renewedAt) return;
            _renewedAt = startedAt;
            Arm();
        }
    }

    /// <summary>No more renewals: the attempt was put back and hands its lease on (or lets it run out).</summary>
    internal void StopRenewing()
    {
        lock (_lock)
        {
            _leased = false;
            _puttingBack = true;
        }
    }

    /// <summary>
    /// The handler is done and its outcome is being written. A renewal that finds the task no longer this worker's
    /// from now on most likely saw that outcome committed: nothing to stop (and a write after a real take-over
    /// records nothing: each is conditional on the attempt). The lease is still renewed meanwhile.
    /// </summary>
    internal void Finishing()
    {
        lock (_lock) _finishing = true;
    }

    internal bool LoseLease()
    {
        lock (_lock)
        {
            if (_disposed || !_leased || _finishing) return false;
            _taken = true;
        }
        try
        {
            _lease.Cancel(); // outside the lock: the handler's cancellation callbacks run here
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false; // it finished meanwhile
        }
    }

    // Under the lock. A deadline already passed fires from the timer too (at once), never inline here.
    private void Arm()
    {
        var left = _owner.LeaseDeadline - _clock.GetElapsedTime(_renewedAt);
        _lease.CancelAfter(left > TimeSpan.FromMilliseconds(1) ? left : TimeSpan.FromMilliseconds(1));
    }

    public void Dispose()
    {
        lock (_lock) _disposed = true;
        _owner.Remove(this);
        _token.Dispose();
        _cancel.Dispose();
        _timeLimit.Dispose();
        _lease.Dispose();
    }
}
