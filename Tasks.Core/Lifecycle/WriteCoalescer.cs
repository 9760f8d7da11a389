using System.Diagnostics;
using System.Threading.Channels;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// Group commit for small writes: concurrent callers' items are written together by one statement, each caller
/// returning once the write that carried its items has committed. With a <c>linger</c>, a write waits that long
/// for more items; with a <c>concurrency</c> above one, that many writes may be under way at once. Writes must be
/// safe to repeat (they are retried: <see cref="TransientRetry"/>).
/// See docs/design.md#group-commit-writecoalescer
/// </summary>
public sealed class WriteCoalescer<T> : IAsyncDisposable
{
    private readonly Channel<(IReadOnlyList<T> Items, TaskCompletionSource Done, long At)> _queue =
        Channel.CreateUnbounded<(IReadOnlyList<T>, TaskCompletionSource, long)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<List<T>, CancellationToken, Task> _write;
    private readonly int _maxItems;
    private readonly TimeSpan _linger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _loop;
    private readonly TransientRetry _retry;
    private readonly SemaphoreSlim _writes; // a slot per write under way
    private readonly int _concurrency;

    public WriteCoalescer(Func<List<T>, CancellationToken, Task> write, int maxItems = 5000, TimeSpan linger = default, TransientRetry? retry = null, int concurrency = 1)
    {
        _write = write;
        _concurrency = concurrency;
        _writes = new SemaphoreSlim(concurrency);
        _retry = retry ?? TransientRetry.System;
        _maxItems = maxItems;
        _linger = linger;
        // The loop must not inherit the first caller's async locals (its trace, above all): every write would
        // otherwise show up inside that one caller's trace.
        using (ExecutionContext.SuppressFlow()) _loop = Task.Run(LoopAsync);
    }

    public Task WriteAsync(IReadOnlyList<T> items)
    {
        if (items.Count == 0) return Task.CompletedTask;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((items, done, Stopwatch.GetTimestamp()))) done.SetException(new ObjectDisposedException(nameof(WriteCoalescer<T>)));
        return done.Task;
    }

    private async Task LoopAsync()
    {
        while (await _queue.Reader.WaitToReadAsync())
        {
            await _writes.WaitAsync();
            var batch = new List<T>();
            var waiting = new List<(IReadOnlyList<T> Items, TaskCompletionSource Done)>();
            // Lingering counts from the oldest item's arrival, so a backlog is written without further delay; and a
            // write that has fallen well behind takes ten times as many items, so it can't fall further and further.
            var limit = _maxItems;
            if (_linger > TimeSpan.Zero && _queue.Reader.TryPeek(out var oldest))
            {
                var age = Stopwatch.GetElapsedTime(oldest.At);
                if (age < _linger && !_stopping.IsCancellationRequested)
                    await Task.Delay(_linger - age, _stopping.Token).ContinueWith(_ => { }, TaskScheduler.Default); // cut short by DisposeAsync
                else if (age > 4 * _linger)
                    limit = 10 * _maxItems;
            }
            while (batch.Count < limit && _queue.Reader.TryRead(out var next))
            {
                batch.AddRange(next.Items);
                waiting.Add((next.Items, next.Done));
            }
            var write = WriteBatchAsync(batch, waiting); // never throws: each caller hears of its own failure
            if (_concurrency == 1) await write;
        }
        for (var i = 0; i < _concurrency; i++) await _writes.WaitAsync(); // the writes still under way
    }

    private async Task WriteBatchAsync(List<T> batch, List<(IReadOnlyList<T> Items, TaskCompletionSource Done)> waiting)
    {
        try
        {
            try
            {
                await WriteWithRetriesAsync(batch);
                foreach (var (_, done) in waiting) done.SetResult();
            }
            catch (Exception) when (waiting.Count > 1)
            {
                // One caller's bad item (a value the database refuses) must not fail the others: write each
                // caller's items on their own, so an error reaches only the caller it belongs to.
                foreach (var (items, done) in waiting)
                {
                    try
                    {
                        await WriteWithRetriesAsync([.. items]);
                        done.SetResult();
                    }
                    catch (Exception e)
                    {
                        done.SetException(e);
                    }
                }
            }
            catch (Exception e)
            {
                waiting[0].Done.SetException(e);
            }
        }
        finally
        {
            _writes.Release();
        }
    }

    private Task WriteWithRetriesAsync(List<T> batch) => _retry.RunAsync(_ => _write(batch, CancellationToken.None), CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _loop;
        _stopping.Dispose();
    }
}
