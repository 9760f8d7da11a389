using Microsoft.Extensions.Hosting;
using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The database goes away under running tasks and comes back: no healthy task fails for it. The worker under test
/// reaches PostgreSQL through a <see cref="TcpProxy"/>; stopping the proxy is what a crash followed by a restart
/// looks like from the worker (every connection cut mid-stream, "Exception while reading from stream", and new
/// ones refused until the server is back), without restarting the run's one shared server under the other test
/// classes. The lease (10 s, stopped at 5 s) outlasts the outage: what is tested here is the connection loss alone.
/// </summary>
public sealed class DatabaseOutageTests(DatabaseOutageTests.Stack stack) : IClassFixture<DatabaseOutageTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        protected override Dictionary<string, string?> Settings => new(base.Settings) { ["Tasks:LeaseSeconds"] = "10" };
    }

    [Theory]
    [InlineData(0)]    // back at once: every connection is dead, and the next write of each task meets one
    [InlineData(2500)] // down for a while: writes and new connections are refused meanwhile
    public async Task Tasks_running_when_the_database_is_cut_and_comes_back_all_succeed(int downMilliseconds)
    {
        var queue = "outage-" + Guid.NewGuid().ToString("N")[..8];
        await using var proxy = new TcpProxy(new NpgsqlConnectionStringBuilder(stack.Postgres).Port);
        var proxied = new NpgsqlConnectionStringBuilder(stack.Postgres) { Port = proxy.Port }.ConnectionString;
        var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Name"] = "outage-" + queue }, proxied);
        var cut = false;
        try
        {
            var idle = new List<TaskView>();
            var querying = new List<TaskView>();
            for (var i = 0; i < 3; i++)
            {
                idle.Add(await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 5 }, queue, maxAttempts = 1 }));
                querying.Add(await stack.Http.EnqueueAsync(new { name = "test.pgsleep", args = new { seconds = 3 }, queue }));
            }
            foreach (var t in idle) await stack.Http.WaitForAsync(t.Id, v => v.State == "running" && v.Progress.Current >= 1);
            foreach (var t in querying) await stack.Http.WaitForAsync(t.Id, v => v.State == "running" && TestObservations.InQuery.ContainsKey(t.Id));
            await Task.Delay(300); // the queries are on the server

            proxy.Stop(); // every connection of the worker cut; new ones refused
            cut = true;
            await Task.Delay(downMilliseconds);
            proxy.Start();
            cut = false;

            foreach (var t in idle.Concat(querying))
            {
                var done = await stack.Http.WaitForAsync(t.Id, v => v.State is "succeeded" or "failed", seconds: 60);
                Assert.True(done.State == "succeeded", $"{done.Name} ended {done.State}: {done.Error}");
            }
            // The queries were cut: those attempts were put back and ran again, not failed.
            foreach (var t in querying) Assert.True((await stack.Http.GetTaskAsync(t.Id)).Attempts >= 2);
        }
        finally
        {
            if (cut) proxy.Start();
            await worker.StopAsync(TimeSpan.FromSeconds(10));
            await worker.DisposeAsync();
        }
    }
}
