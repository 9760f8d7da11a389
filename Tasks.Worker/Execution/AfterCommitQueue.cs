namespace Tasks.Worker.Execution;

/// <summary>
/// Callbacks a task registers while it runs, run in order once its database work has committed, and dropped when
/// it rolls back: a notification never goes out for work that didn't happen.
/// </summary>
public sealed class AfterCommitQueue
{
    private readonly List<Func<CancellationToken, Task>> _callbacks = [];

    public void Add(Func<CancellationToken, Task> callback) => _callbacks.Add(callback);

    internal int Count => _callbacks.Count;

    internal IReadOnlyList<Func<CancellationToken, Task>> Drain()
    {
        var all = _callbacks.ToArray();
        _callbacks.Clear();
        return all;
    }
}
