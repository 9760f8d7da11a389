using Npgsql;
using Tasks.Core.Lifecycle;

namespace Tasks.Tests;

/// <summary>The lifecycle's retry of writes the database refused as a whole: Polly, on the clock it is given.</summary>
public sealed class TransientRetryTests
{
    [Fact]
    public async Task A_transient_failure_is_tried_three_times_50_then_100_ms_apart_on_the_given_clock()
    {
        var clock = new RecordingClock();
        var tries = 0;
        var e = await Assert.ThrowsAsync<NpgsqlException>(() => new TransientRetry(clock).RunAsync(_ =>
        {
            tries++;
            throw new NpgsqlException("connection cut", new IOException("reset by peer"));
        }, TestContext.Current.CancellationToken));

        Assert.True(e.IsTransient);
        Assert.Equal(3, tries);
        Assert.Equal([TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100)], clock.Delays);
    }

    [Fact]
    public async Task A_write_that_succeeds_on_its_second_try_returns_its_result_and_a_task_s_own_error_is_not_retried()
    {
        var clock = new RecordingClock();
        var retry = new TransientRetry(clock);
        var tries = 0;
        var result = await retry.RunAsync(_ => ++tries == 1
            ? throw new PostgresException("deadlock detected", "ERROR", "ERROR", PostgresErrorCodes.DeadlockDetected)
            : Task.FromResult(tries), TestContext.Current.CancellationToken);
        Assert.Equal(2, result);

        tries = 0;
        await Assert.ThrowsAsync<PostgresException>(() => retry.RunAsync(_ =>
        {
            tries++;
            throw new PostgresException("duplicate key", "ERROR", "ERROR", PostgresErrorCodes.UniqueViolation);
        }, TestContext.Current.CancellationToken));
        Assert.Equal(1, tries);
        Assert.Equal([TimeSpan.FromMilliseconds(50)], clock.Delays);
    }

    /// <summary>Records each wait asked of it and lets it pass at once.</summary>
    private sealed class RecordingClock : TimeProvider
    {
        public List<TimeSpan> Delays { get; } = [];

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            if (dueTime != Timeout.InfiniteTimeSpan) lock (Delays) Delays.Add(dueTime);
            return System.CreateTimer(callback, state, TimeSpan.Zero, period);
        }
    }
}
