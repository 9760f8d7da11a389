using Npgsql;
using Tasks.Core.Lifecycle;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The worker's set-based statements must reach their rows through the primary key however small the table was when
/// they were first run: PostgreSQL keeps a prepared statement's generic plan until the table is next analyzed, and a
/// plan made on a small table scans the whole table (or all of an index) on every call once the table has grown.
/// </summary>
public sealed class PlanTests(TasksStack stack) : IClassFixture<TasksStack>
{
    public static TheoryData<string, string, string> Statements => new()
    {
        { "mark queued", TaskStateMachine.MarkQueuedSql, "{ids}, array_fill(now(), ARRAY[5])" },
        { "claim", TaskStateMachine.ClaimSql, "{ids}, array_fill('w'::text, ARRAY[5]), array_fill(gen_random_uuid(), ARRAY[5]), now(), 3, interval '30 seconds'" },
        { "claim, skipping held rows", TaskStateMachine.ClaimSkippingHeldSql, "{ids}, array_fill('w'::text, ARRAY[5]), array_fill(gen_random_uuid(), ARRAY[5]), now(), 3, interval '30 seconds'" },
        { "succeed", TaskStateMachine.SucceedSql, "{ids}, array_fill(1, ARRAY[5]), array_fill(NULL::text, ARRAY[5]), now()" },
        { "heartbeat", TaskStateMachine.HeartbeatSql, "{ids}, 'w'" },
    };

    [Theory, MemberData(nameof(Statements))]
    public async Task Hot_statements_probe_by_key_after_the_table_has_grown(string statement, string sql, string args)
    {
        var ct = TestContext.Current.CancellationToken;
        await using var db = stack.OpenDatabase();
        await using var conn = await db.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct); // rolled back: every case starts from an empty table
        await ExecuteAsync("TRUNCATE tasks");
        await InsertAsync(30);
        var ids = new List<Guid>();
        await using (var pick = new NpgsqlCommand("SELECT id FROM tasks LIMIT 5", conn, tx))
        await using (var reader = await pick.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) ids.Add(reader.GetGuid(0));
        var call = $"hot({args.Replace("{ids}", $"'{{{string.Join(',', ids)}}}'::uuid[]", StringComparison.Ordinal)})";

        // Run as the worker runs it, while the table is small: by the sixth call PostgreSQL settles on a plan.
        await ExecuteAsync($"PREPARE hot AS {sql}");
        for (var i = 0; i < 8; i++)
        {
            await ExecuteAsync(ByKeyStatement.PinPlan);
            await ExecuteAsync($"EXECUTE {call}");
        }
        await InsertAsync(20_000);
        await AssertByKeyAsync("after growing to 20,000 rows");

        // Past the size where a generic plan may be kept: the one PostgreSQL settles on now must look rows up too.
        await InsertAsync(60_000);
        for (var i = 0; i < 8; i++)
        {
            await ExecuteAsync(ByKeyStatement.PinPlan);
            await ExecuteAsync($"EXECUTE {call}");
        }
        await AssertByKeyAsync("settled at 80,000 rows (well past 2 MB)");

        // And that plan is kept, not made again at every call (which costs more than running it).
        var (generic, custom) = await PlansMadeAsync();
        for (var i = 0; i < 5; i++)
        {
            await ExecuteAsync(ByKeyStatement.PinPlan);
            await ExecuteAsync($"EXECUTE {call}");
        }
        var (generic2, custom2) = await PlansMadeAsync();
        Assert.True(custom2 == custom && generic2 == generic + 5,
            $"{statement}: 5 calls at 80,000 rows made {custom2 - custom} custom plans and used the generic one {generic2 - generic} times");

        async Task<(long Generic, long Custom)> PlansMadeAsync()
        {
            await using var cmd = new NpgsqlCommand("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'hot'", conn, tx);
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            Assert.True(await reader.ReadAsync(ct));
            return (reader.GetInt64(0), reader.GetInt64(1));
        }

        async Task AssertByKeyAsync(string when)
        {
            await ExecuteAsync(ByKeyStatement.PinPlan);
            var plan = new List<string>();
            await using (var explain = new NpgsqlCommand($"EXPLAIN EXECUTE {call}", conn, tx))
            await using (var reader = await explain.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct)) plan.Add(reader.GetString(0));
            var text = string.Join('\n', plan);
            Assert.False(text.Contains("Seq Scan on tasks", StringComparison.Ordinal), $"{statement}, {when}: a scan of the whole table:\n{text}");
            Assert.True(plan.Count(l => l.Contains("Index Cond: (id = ", StringComparison.Ordinal)) >= 2,
                $"{statement}, {when}: expected the rows found, then updated, by primary key look-ups:\n{text}");
        }

        async Task ExecuteAsync(string command)
        {
            await using var cmd = new NpgsqlCommand(command, conn, tx);
            await cmd.ExecuteNonQueryAsync(ct);
        }

        Task InsertAsync(int rows) => ExecuteAsync(
            $$"""
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds,
                               backoff_seconds, enqueued_at, updated_at, cancel_requested, worker)
            SELECT gen_random_uuid(), 'demo.echo', 'default', 'running', '{"message":"x"}', 1, 3, 0, 0, 2, now(), now(), false, 'w'
            FROM generate_series(1, {{rows}})
            """);
    }
}
