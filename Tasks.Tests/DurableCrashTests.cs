using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// A PostgreSQL with its durability on, as users run it, killed (<c>pg_ctl stop -m immediate</c>) while tasks are
/// being enqueued through the API and run by a worker, then started again (WAL recovery). Some of the lifecycle's
/// writes don't wait for the WAL flush (docs/design.md, "Writes that don't wait for the WAL flush"), and such a crash
/// loses the last of them: this checks that what they cost is only time. Every task the API accepted ends
/// <c>succeeded</c>, and no task seen <c>succeeded</c> before the crash starts again.
/// </summary>
public sealed class DurableCrashTests(DurableCrashTests.Stack stack) : IClassFixture<DurableCrashTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        public PrivatePostgres Server { get; private set; } = null!;

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
    public async Task A_crash_under_load_loses_no_accepted_task_and_runs_no_finished_one_again()
    {
        var accepted = new ConcurrentDictionary<Guid, Guid>(); // task id → its run key in TestObservations
        using var stop = new CancellationTokenSource();
        var enqueuers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var run = Guid.NewGuid();
                try
                {
                    var task = await stack.Http.EnqueueAsync(new { name = "test.exclusive", args = new { run, seconds = 0 } });
                    accepted[task.Id] = run;
                }
                catch (Exception)
                {
                    // Refused or cut while the server is down: not accepted, so nothing is owed.
                    await Task.Delay(50, CancellationToken.None);
                }
            }
        })).ToList();

        try
        {
            await WaitAsync(async () => await SucceededAsync([.. accepted.Keys]) is { Count: >= 50 }, "50 tasks succeeded under load");
            // What is succeeded now was committed before the crash: it must stay so and never start again.
            var finished = await SucceededAsync([.. accepted.Keys]);
            var startsBefore = finished.ToDictionary(id => id, id => TestObservations.Started.GetValueOrDefault(accepted[id]));

            await stack.Server.CrashAsync();
            await Task.Delay(300);
            await stack.Server.StartAsync();
            await Task.Delay(1500); // load goes on after the restart
            await stop.CancelAsync();
            await Task.WhenAll(enqueuers);

            var ids = accepted.Keys.ToList();
            await WaitAsync(async () => (await SucceededAsync(ids)).Count == ids.Count, $"all {ids.Count} accepted tasks succeeded");
            foreach (var (id, starts) in startsBefore)
                Assert.True(TestObservations.Started.GetValueOrDefault(accepted[id]) == starts, $"task {id}, succeeded before the crash, ran again");
            Assert.True(startsBefore.Count >= 50 && ids.Count > startsBefore.Count, $"{startsBefore.Count} finished before the crash, {ids.Count} accepted");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(enqueuers);
        }
    }

    /// <summary>Which of <paramref name="ids"/> are <c>succeeded</c>, read on a connection of its own (pools die with the server).</summary>
    private async Task<HashSet<Guid>> SucceededAsync(IReadOnlyList<Guid> ids)
    {
        await using var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(stack.Postgres) { Pooling = false }.ConnectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT id FROM tasks WHERE id = ANY($1) AND state = 'succeeded'", conn);
        cmd.Parameters.Add(new() { Value = ids.ToArray() });
        var found = new HashSet<Guid>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) found.Add(reader.GetGuid(0));
        return found;
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                if (await condition()) return;
            }
            catch (NpgsqlException) { } // the server coming back
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40), $"not within 40 s: {what}");
            await Task.Delay(100);
        }
    }
}
