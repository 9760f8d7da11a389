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
        object NewTask() => new { name = "test.exclusive", args = new { run = Guid.NewGuid(), seconds = 0 } };
        void Accept(TaskView t) => accepted[t.Id] = t.Args.GetProperty("run").GetGuid();

        // A backlog the worker is busy with when the server dies, and single enqueues going on meanwhile, a tenth of a
        // second apart: each one's commit flushes the WAL, and what must be caught is a write lost between two. The
        // backlog goes in while the worker runs (batches outpace it), so it is never done when the crash comes.
        using var stop = new CancellationTokenSource();
        async Task KeepEnqueuing(Func<Task> enqueue, int pauseMs, Func<bool> more)
        {
            while (!stop.IsCancellationRequested && more())
            {
                try
                {
                    await enqueue();
                }
                catch (Exception)
                {
                    // Refused or cut while the server is down: not accepted, so nothing is owed.
                }
                await Task.Delay(pauseMs, CancellationToken.None);
            }
        }
        var backlog = Task.Run(() => KeepEnqueuing(async () =>
        {
            foreach (var t in await stack.Http.EnqueueBatchAsync([.. Enumerable.Range(0, 100).Select(_ => NewTask())])) Accept(t);
        }, 0, () => accepted.Count < 3000));
        var enqueuer = Task.Run(() => KeepEnqueuing(async () => Accept(await stack.Http.EnqueueAsync(NewTask())), 100, () => true));

        try
        {
            await WaitAsync(async () => await SucceededAsync([.. accepted.Keys]) is { Count: >= 200 }, "200 tasks succeeded under load");
            // What is succeeded now was committed before the crash: it must stay so and never start again.
            var finished = await SucceededAsync([.. accepted.Keys]);
            var startsBefore = finished.ToDictionary(id => id, id => TestObservations.Started.GetValueOrDefault(accepted[id]));
            await stack.Server.CrashAsync();
            Assert.True(finished.Count < accepted.Count, $"the backlog was done before the crash ({finished.Count} of {accepted.Count})");

            await Task.Delay(300);
            await stack.Server.StartAsync();
            await Task.Delay(1500); // enqueues go on after the restart
            await stop.CancelAsync();
            await Task.WhenAll(backlog, enqueuer);

            var ids = accepted.Keys.ToList();
            await WaitAsync(async () => (await SucceededAsync(ids)).Count == ids.Count, $"all {ids.Count} accepted tasks succeeded");
            foreach (var (id, starts) in startsBefore)
                Assert.True(TestObservations.Started.GetValueOrDefault(accepted[id]) == starts, $"task {id}, succeeded before the crash, ran again");
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(backlog, enqueuer);
            if (!stack.Server.Running) await stack.Server.StartAsync(); // for the next test, whatever failed here
        }
    }

    /// <summary>
    /// The sharpest moment: nothing else is being written, and tasks have just been seen <c>succeeded</c>. Under load
    /// every claim's and enqueue's flush carries the writes before it along, so a write that wrongly skipped the
    /// flush is lost only when it was the last; here it is.
    /// </summary>
    [Fact]
    public async Task Tasks_seen_succeeded_an_instant_before_a_crash_stay_succeeded()
    {
        var tasks = await stack.Http.EnqueueBatchAsync([.. Enumerable.Range(0, 50).Select(_ => new { name = "demo.echo", args = new { } })]);
        var ids = tasks.ConvertAll(t => t.Id);
        await using (var conn = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(stack.Postgres) { Pooling = false }.ConnectionString))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT count(*) FROM tasks WHERE id = ANY($1) AND state = 'succeeded'", conn);
            cmd.Parameters.Add(new() { Value = ids.ToArray() });
            var clock = Stopwatch.StartNew();
            while ((long)(await cmd.ExecuteScalarAsync())! < ids.Count)
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), "50 tasks not succeeded in 20 s");
        }
        await stack.Server.CrashAsync();
        await stack.Server.StartAsync();

        Assert.Equal(ids.Count, (await SucceededAsync(ids)).Count);
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
