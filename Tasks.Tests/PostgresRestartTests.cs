using System.Diagnostics;
using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// A real PostgreSQL crash (<c>pg_ctl stop -m immediate</c>, WAL recovery at the restart) under running
/// <c>maxAttempts: 1</c> tasks: none of them fails for it. The whole stack (web, worker, scheduler, and its
/// migrations) runs on a <see cref="PrivatePostgres"/> of this class's own, since the run's shared server can't be
/// crashed under the other classes. The lease (10 s) outlasts the outage: what is tested is the connection loss alone.
/// </summary>
public sealed class PostgresRestartTests(PostgresRestartTests.Stack stack) : IClassFixture<PostgresRestartTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        public PrivatePostgres Server { get; private set; } = null!;

        protected override Dictionary<string, string?> Settings => new(base.Settings) { ["Tasks:LeaseSeconds"] = "10" };

        protected override async Task<string> DatabaseAsync(string onSharedServer)
        {
            Server = await PrivatePostgres.StartNewAsync();
            return Server.ConnectionString();
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            if (Server is not null) await Server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(0)]    // restarted at once: the tasks' next writes meet their dead connections on a live server
    [InlineData(1500)] // down for a while: writes and new connections are refused meanwhile
    public async Task Tasks_running_when_postgres_crashes_and_restarts_all_succeed(int downMilliseconds)
    {
        var idle = new List<TaskView>();
        var querying = new List<TaskView>();
        for (var i = 0; i < 3; i++)
            idle.Add(await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 6 }, maxAttempts = 1 }));
        for (var i = 0; i < 3; i++)
            querying.Add(await stack.Http.EnqueueAsync(new { name = "test.pgsleep", args = new { seconds = 4 }, maxAttempts = 1 }));
        foreach (var t in querying) await stack.Http.WaitForAsync(t.Id, v => v.State == "running" && TestObservations.InQuery.ContainsKey(t.Id));
        await WaitForSleepingQueriesAsync(querying.Count);
        // Crash just after a round of progress reports (the idle tasks started together), so that with a quick
        // restart their next report, a second later, meets a dead connection on a server that is back.
        var seen = (await stack.Http.WaitForAsync(idle[0].Id, v => v.State == "running" && v.Progress.Current >= 1)).Progress.Current;
        await stack.Http.WaitForAsync(idle[0].Id, v => v.Progress.Current > seen);

        await stack.Server.CrashAsync();
        try
        {
            await Task.Delay(downMilliseconds);
        }
        finally
        {
            await stack.Server.StartAsync();
        }

        foreach (var t in idle.Concat(querying))
        {
            var done = await WaitEndedAsync(t.Id);
            Assert.True(done.State == "succeeded", $"{done.Name} ended {done.State} after {done.Attempts} attempt(s): {done.Error}");
        }
        // The queries were cut by the crash: those attempts were put back and ran again, not failed.
        foreach (var t in querying) Assert.True((await stack.Http.GetTaskAsync(t.Id)).Attempts >= 2);
    }

    /// <summary>Until the handlers' <c>pg_sleep</c> queries are on the server, so the crash cuts them mid-query.</summary>
    private async Task WaitForSleepingQueriesAsync(int count)
    {
        await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(stack.Postgres) { Pooling = false }.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'SELECT pg_sleep(%'", conn);
        var clock = Stopwatch.StartNew();
        while ((long)(await cmd.ExecuteScalarAsync())! < count)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{count} pg_sleep queries not on the server in 10 s");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Polls until the task ended. The web's own pooled connections died with the server too, so a request right
    /// after the restart may fail; that is not what this test is about.
    /// </summary>
    private async Task<TaskView> WaitEndedAsync(Guid id)
    {
        var clock = Stopwatch.StartNew();
        TaskView? last = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                last = await stack.Http.GetTaskAsync(id);
                if (last.State is "succeeded" or "failed") return last;
            }
            catch (HttpRequestException) { }
            await Task.Delay(50);
        }
        Assert.Fail($"Task {id} did not end in 30 s; last seen: {last}");
        return last!;
    }
}
