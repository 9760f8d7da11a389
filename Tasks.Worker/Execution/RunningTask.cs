namespace Tasks.Worker.Execution;

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
    private long _claimedAt;
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
            _claimedAt = startedAt;
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

    internal bool IsFinishing
    {
        get { lock (_lock) return _finishing; }
    }

    internal bool LoseLease(long heartbeatStartedAt)
    {
        lock (_lock)
        {
            // A heartbeat that began before this claim saw the task as another attempt left it: not about this one.
            if (_disposed || !_leased || _finishing || heartbeatStartedAt <= _claimedAt) return false;
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
