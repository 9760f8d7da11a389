using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// A fire that meets the database away: it is stored once the database is back, however long it was away. The
/// scheduler under test reaches PostgreSQL through a <see cref="TcpProxy"/> (as in <see cref="DatabaseOutageTests"/>).
/// </summary>
public sealed class BeatOutageTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
{
    [Fact]
    public async Task A_fire_cut_off_from_the_database_for_longer_than_the_old_retry_budget_is_stored_once_it_returns()
    {
        await using var proxy = new TcpProxy(new NpgsqlConnectionStringBuilder(stack.Postgres).Port);
        var env = stack.Environment();
        env["ConnectionStrings__Tasks"] = new NpgsqlConnectionStringBuilder(stack.Postgres) { Port = proxy.Port }.ConnectionString;
        await using var scheduler = await HostProcess.StartAsync("Tasks.Scheduler", env);
        await using var db = stack.OpenDatabase();
        var name = $"outage-{Guid.NewGuid():N}"[..20];

        // The fire is held at its insert by a lock of the test's, so that the database goes away in the middle of it:
        // Quartz has taken the fire, the task is not stored yet.
        await using var locker = await db.OpenConnectionAsync();
        await using var tx = await locker.BeginTransactionAsync();
        await using (var lockTasks = new NpgsqlCommand("LOCK TABLE tasks IN SHARE MODE", locker, tx)) await lockTasks.ExecuteNonQueryAsync();
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", intervalSeconds = 3600 }); // fires now, then in an hour
        await WaitForAsync(db, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO tasks%'");

        var cut = true;
        proxy.Stop();
        try
        {
            // The held insert's server process would still commit once the lock goes: end it, so nothing is stored.
            await using (var end = db.CreateCommand("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO tasks%'"))
                await end.ExecuteNonQueryAsync();
            await tx.RollbackAsync();
            await Task.Delay(TimeSpan.FromSeconds(15)); // the old job gave up after 5 tries, about 10 s
            Assert.Empty(await stack.FiresAsync(name));
            proxy.Start();
            cut = false;
        }
        finally
        {
            if (cut) proxy.Start();
        }

        var fires = await stack.WaitForFiresAsync(name, f => f.Count > 0, seconds: 60);
        await Task.Delay(2000); // a second store of the same fire would show by now
        Assert.Equal(fires[0], Assert.Single(await stack.FiresAsync(name)));
        Assert.Contains("(try 5)", scheduler.Output, StringComparison.Ordinal); // it did meet the outage, for more than the old budget
        await stack.Http.DeleteScheduleAsync(name);
    }

    private static async Task WaitForAsync(NpgsqlDataSource db, string countSql)
    {
        for (var waited = 0; waited < 300; waited++)
        {
            await using var cmd = db.CreateCommand(countSql);
            if ((long)(await cmd.ExecuteScalarAsync())! > 0) return;
            await Task.Delay(100);
        }
        Assert.Fail($"Nothing came to: {countSql}");
    }
}
