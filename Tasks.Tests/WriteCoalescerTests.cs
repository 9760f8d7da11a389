using System.Collections.Concurrent;
using Npgsql;
using Tasks.Core.Lifecycle;

namespace Tasks.Tests;

/// <summary>The group commit every hot write goes through: batching, retries, and who hears of a failure.</summary>
public sealed class WriteCoalescerTests
{
    [Fact]
    public async Task Callers_waiting_behind_a_write_go_out_together_and_each_returns_after_its_own_items_are_written()
    {
        var gate = new TaskCompletionSource();
        var batches = new ConcurrentQueue<List<int>>();
        await using var coalescer = new WriteCoalescer<int>(async (items, _) =>
        {
            batches.Enqueue([.. items]);
            if (batches.Count == 1) await gate.Task; // the first write is slow: the next callers queue up behind it
        });

        var first = coalescer.WriteAsync([0]);
        while (batches.IsEmpty) await Task.Delay(5, TestContext.Current.CancellationToken);
        var rest = Enumerable.Range(1, 10).Select(i => coalescer.WriteAsync([i, i + 100])).ToList();
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(first.IsCompleted);
        Assert.DoesNotContain(rest, r => r.IsCompleted);

        gate.SetResult();
        await first;
        await Task.WhenAll(rest);
        Assert.Equal(2, batches.Count);
        Assert.Equal(Enumerable.Range(1, 10).SelectMany(i => new[] { i, i + 100 }), batches.Last());
    }

    [Fact]
    public async Task With_a_linger_writes_wait_for_their_oldest_item_take_what_came_meanwhile_and_disposal_writes_the_rest_at_once()
    {
        var batches = new ConcurrentQueue<(List<int> Items, TimeSpan At)>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var coalescer = new WriteCoalescer<int>((items, _) =>
        {
            batches.Enqueue(([.. items], clock.Elapsed));
            return Task.CompletedTask;
        }, maxItems: 3, linger: TimeSpan.FromSeconds(1));

        var first = coalescer.WriteAsync([1]);
        await Task.Delay(100, TestContext.Current.CancellationToken);
        var second = coalescer.WriteAsync([2]);
        await Task.WhenAll(first, second);
        var (items, at) = Assert.Single(batches);
        Assert.Equal([1, 2], items);
        Assert.InRange(at, TimeSpan.FromMilliseconds(950), TimeSpan.FromSeconds(10));

        // A backlog (more than one write's worth) goes out write after write, not one linger apart.
        batches.Clear();
        clock.Restart();
        await Task.WhenAll(Enumerable.Range(10, 7).Select(i => coalescer.WriteAsync([i])));
        Assert.Equal([[10, 11, 12], [13, 14, 15], [16]], batches.Select(b => b.Items));
        Assert.True(batches.Last().At - batches.First().At < TimeSpan.FromMilliseconds(500), $"{batches.Last().At - batches.First().At}");

        batches.Clear();
        clock.Restart();
        var last = coalescer.WriteAsync([99]);
        await coalescer.DisposeAsync();
        await last;
        Assert.Equal([99], Assert.Single(batches).Items);
        Assert.True(batches.Single().At < TimeSpan.FromMilliseconds(500), $"{batches.Single().At}");
    }

    [Fact]
    public async Task A_lingering_writer_that_has_fallen_behind_takes_larger_batches_until_it_has_caught_up()
    {
        var gate = new TaskCompletionSource();
        var batches = new ConcurrentQueue<int>();
        await using var coalescer = new WriteCoalescer<int>(async (items, _) =>
        {
            batches.Enqueue(items.Count);
            await gate.Task; // the first write is slow: everything after it falls behind
        }, maxItems: 2, linger: TimeSpan.FromMilliseconds(20));

        var first = coalescer.WriteAsync([0]);
        while (batches.IsEmpty) await Task.Delay(5, TestContext.Current.CancellationToken);
        var rest = Enumerable.Range(1, 44).Select(i => coalescer.WriteAsync([i])).ToList();
        await Task.Delay(200, TestContext.Current.CancellationToken); // ten lingers behind
        gate.SetResult();
        await Task.WhenAll(rest.Append(first));
        Assert.Equal([1, 20, 20, 4], batches);

        // Caught up: back to batches of maxItems.
        batches.Clear();
        await Task.WhenAll(Enumerable.Range(0, 3).Select(i => coalescer.WriteAsync([i])));
        Assert.Equal([2, 1], batches);
    }

    [Fact]
    public async Task With_a_concurrency_of_two_a_write_goes_out_beside_a_slow_one_never_a_third_and_disposal_waits_for_both()
    {
        var gates = new ConcurrentDictionary<int, TaskCompletionSource>();
        var batches = new ConcurrentQueue<List<int>>();
        var underWay = 0;
        var most = 0;
        var coalescer = new WriteCoalescer<int>(async (items, _) =>
        {
            var now = Interlocked.Increment(ref underWay);
            InterlockedMax(ref most, now);
            batches.Enqueue([.. items]);
            await gates.GetOrAdd(items[0], _ => new()).Task;
            Interlocked.Decrement(ref underWay);
        }, concurrency: 2);

        var first = coalescer.WriteAsync([1]);
        await UntilAsync(() => batches.Count == 1, "the first write under way");
        var second = coalescer.WriteAsync([2]);
        await UntilAsync(() => batches.Count == 2, "a second write beside the stuck first");
        var third = coalescer.WriteAsync([3]);
        var fourth = coalescer.WriteAsync([4]);
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.Equal(2, batches.Count); // both slots taken: the others wait, together

        gates.GetOrAdd(2, _ => new()).SetResult();
        await second;
        await UntilAsync(() => batches.Count == 3, "the waiting callers' write in the freed slot");
        Assert.Equal([3, 4], batches.Last());
        Assert.False(first.IsCompleted);

        var disposal = coalescer.DisposeAsync().AsTask();
        await Task.Delay(50, TestContext.Current.CancellationToken);
        Assert.False(disposal.IsCompleted); // two writes still under way
        gates.GetOrAdd(1, _ => new()).SetResult();
        gates.GetOrAdd(3, _ => new()).SetResult();
        await disposal;
        await Task.WhenAll(first, third, fourth);
        Assert.Equal(2, most);
    }

    private static async Task UntilAsync(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"not within 5 s: {what}");
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        for (var seen = Volatile.Read(ref target); value > seen; seen = Volatile.Read(ref target))
            if (Interlocked.CompareExchange(ref target, value, seen) == seen) return;
    }

    [Fact]
    public async Task A_deadlock_victim_is_written_again_and_a_lasting_failure_reaches_every_caller_of_that_write()
    {
        var tries = 0;
        await using var coalescer = new WriteCoalescer<string>((items, _) =>
        {
            tries++;
            if (items.Contains("deadlock") && tries == 1)
                throw new PostgresException("deadlock detected", "ERROR", "ERROR", PostgresErrorCodes.DeadlockDetected);
            if (items.Contains("broken")) throw new InvalidOperationException("broken for good");
            return Task.CompletedTask;
        });

        await coalescer.WriteAsync(["deadlock"]);
        Assert.Equal(2, tries);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => coalescer.WriteAsync(["broken"]));
        Assert.Equal("broken for good", failure.Message);
        await coalescer.WriteAsync(["fine"]); // one failed write doesn't stop the next
    }

    [Fact]
    public async Task One_callers_bad_item_fails_that_caller_only_not_the_others_written_with_it()
    {
        var gate = new TaskCompletionSource();
        var writes = 0;
        await using var coalescer = new WriteCoalescer<string>(async (items, _) =>
        {
            if (Interlocked.Increment(ref writes) == 1) await gate.Task;
            if (items.Contains("bad")) throw new InvalidOperationException("refused");
        });

        var first = coalescer.WriteAsync(["first"]);
        while (Volatile.Read(ref writes) == 0) await Task.Delay(5, TestContext.Current.CancellationToken);
        var good = coalescer.WriteAsync(["good"]);
        var bad = coalescer.WriteAsync(["bad"]);
        var alsoGood = coalescer.WriteAsync(["also good"]);
        gate.SetResult();

        await first;
        await good;
        await alsoGood;
        Assert.Equal("refused", (await Assert.ThrowsAsync<InvalidOperationException>(() => bad)).Message);
    }
}
