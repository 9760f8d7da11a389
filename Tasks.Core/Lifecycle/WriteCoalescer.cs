using System.Threading.Channels;
using Npgsql;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// Group commit for small writes: concurrent callers' items are written together by one statement, and each caller
/// returns once the write that carried its items has committed (or throws what it threw). While one write runs,
/// the next callers queue up, so the busier it gets the bigger the batches and the fewer the round trips and
/// commits; an idle caller waits for nobody. Writes must be safe to repeat (see <see cref="WriteWithRetriesAsync"/>).
/// </summary>
public sealed class WriteCoalescer<T> : IAsyncDisposable
{
    private readonly Channel<(IReadOnlyList<T> Items, TaskCompletionSource Done)> _queue =
        Channel.CreateUnbounded<(IReadOnlyList<T>, TaskCompletionSource)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<List<T>, CancellationToken, Task> _write;
    private readonly int _maxItems;
    private readonly Task _loop;

    public WriteCoalescer(Func<List<T>, CancellationToken, Task> write, int maxItems = 5000)
    {
        _write = write;
        _maxItems = maxItems;
        // The loop must not inherit the first caller's async locals (its trace, above all): every write would
        // otherwise show up inside that one caller's trace.
        using (ExecutionContext.SuppressFlow()) _loop = Task.Run(LoopAsync);
    }

    public Task WriteAsync(IReadOnlyList<T> items)
    {
        if (items.Count == 0) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((items, done))) done.SetException(new ObjectDisposedException(nameof(WriteCoalescer<T>)));
        return done.Task;
    }

    private async Task LoopAsync()
    {
        var batch = new List<T>();
        var waiting = new List<TaskCompletionSource>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxItems && _queue.Reader.TryRead(out var next))
            {
                batch.AddRange(next.Items);
                waiting.Add(next.Done);
            }
            try
            {
                await WriteWithRetriesAsync(batch);
                foreach (var done in waiting) done.SetResult();
            }
            catch (Exception e)
            {
                foreach (var done in waiting) done.SetException(e);
            }
            batch.Clear();
            waiting.Clear();
        }
    }

    /// <summary>
    /// A deadlock victim, or a pooled connection that died with a database restart, is tried again: every write
    /// given to a coalescer must be safe to repeat.
    /// </summary>
    private async Task WriteWithRetriesAsync(List<T> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _write(batch, CancellationToken.None);
                return;
            }
            catch (NpgsqlException e) when (e.IsTransient && attempt < 3)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }
}
