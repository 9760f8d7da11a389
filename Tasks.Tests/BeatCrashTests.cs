using System.Diagnostics;
using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The beat on a PostgreSQL with its durability on, killed (<c>pg_ctl stop -m immediate</c>) while ten every-second
/// schedules fire, then started again. Quartz's own writes don't wait for the WAL flush (docs/design.md, "The beat",
/// Quartz's writes without the flush): a crash may take the last of them back, which must cost no fire stored before
/// it and fire no time twice; the times missed meanwhile follow the misfire policy (one catch-up at most).
/// </summary>
public sealed class BeatCrashTests(BeatCrashTests.Stack stack) : IClassFixture<BeatCrashTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        public PrivatePostgres Server { get; private set; } = null!;

        protected override bool StartWorker => false;
        protected override bool StartScheduler => false; // a process of its own, configured as operators run it

        public Dictionary<string, string> Environment() => ProcessEnvironment(0);

        protected override async Task<string> DatabaseAsync(string onSharedServer)
        {
            Server = await PrivatePostgres.StartNewAsync(durable: true);
            return Server.ConnectionString();
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            if (Server is not null) await Server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_crash_mid_fires_loses_no_stored_fire_and_fires_no_time_twice()
    {
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", stack.Environment());
        var names = Enumerable.Range(0, 10).Select(i => $"crash-{i}").ToList();
        foreach (var name in names) await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", cron = "* * * * * ?" });
        await WaitAsync(async () => (await FiresAsync()).Count >= 50, "50 fires before the crash");

        var before = await FiresAsync(); // stored before the crash: each must still be there, once
        await stack.Server.CrashAsync();
        await Task.Delay(1000);
        await stack.Server.StartAsync();
        var restarted = DateTimeOffset.UtcNow;
        // Quartz waits out its database retry interval (15 s) before it acquires again: the fires after that are checked.
        await WaitAsync(async () => (await FiresAsync()).Count(f => f.FireTime > restarted.AddSeconds(20)) >= 3 * names.Count, "three fires a schedule after the restart", seconds: 90);

        var after = await FiresAsync();
        Assert.Empty(before.Except(after));
        Assert.Equal(after.Count, after.Select(f => (f.Schedule, f.FireTime)).Distinct().Count()); // the id is derived from both: this is the table's word
        foreach (var name in names)
        {
            var fires = after.Where(f => f.Schedule == name).Select(f => f.FireTime).Order().ToList();
            var lastBefore = before.Where(f => f.Schedule == name).Max(f => f.FireTime);
            var seen = string.Join(" ", fires.Select(t => t.ToString("ss.fff", System.Globalization.CultureInfo.InvariantCulture)));
            // At most one fire off the whole second: the fireOnce catch-up for the times the outage made misfire.
            var catchUps = fires.Where(t => t.Ticks % TimeSpan.TicksPerSecond != 0).ToList();
            Assert.True(catchUps.Count <= 1, $"{name}: a burst of catch-ups: {seen}");
            var onTime = fires.Except(catchUps).ToList();
            var gaps = 0;
            for (var i = 1; i < onTime.Count; i++)
            {
                if (onTime[i] - onTime[i - 1] == TimeSpan.FromSeconds(1)) continue;
                gaps++;
                // The one gap the outage may leave starts with the last fire stored before the crash, or later.
                Assert.True(gaps == 1 && onTime[i - 1] >= lastBefore && onTime[i] > restarted, $"{name}: a gap from {onTime[i - 1]:HH:mm:ss.fff} to {onTime[i]:HH:mm:ss.fff} (crash after {lastBefore:HH:mm:ss.fff}, restart {restarted:HH:mm:ss.fff}): {seen}");
                Assert.True(catchUps.All(c => c > onTime[i - 1] && c < onTime[i]), $"{name}: a catch-up outside the outage: {seen}");
            }
        }
    }

    /// <summary>Every schedule's fires, read on a connection of its own (pools die with the server).</summary>
    private async Task<List<(string Schedule, DateTimeOffset FireTime)>> FiresAsync()
    {
        await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(stack.Postgres) { Pooling = false }.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT schedule_name, scheduled_fire_time FROM tasks WHERE schedule_name IS NOT NULL", conn);
        var fires = new List<(string, DateTimeOffset)>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) fires.Add((reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1)));
        return fires;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what, int seconds = 40)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (NpgsqlException) { } // the server coming back
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(seconds), $"not within {seconds} s: {what}");
            await Task.Delay(200);
        }
    }
}
