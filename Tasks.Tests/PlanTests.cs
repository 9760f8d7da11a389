using System.Text.RegularExpressions;
using Npgsql;
using Tasks.Core.Lifecycle;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// The worker's set-based statements must reach their rows through the primary key however small the table was when
/// PostgreSQL planned them: it keeps a prepared statement's generic plan until the table is next analyzed, and a
/// plan made on an empty table (a sequential scan, a hash join) scans the whole table on every call once it has grown.
/// </summary>
public sealed partial class PlanTests(TasksStack stack) : IClassFixture<TasksStack>
{
    public static TheoryData<string, string> Statements => new()
    {
        { "mark queued", TaskStateMachine.MarkQueuedSql },
        { "claim", TaskStateMachine.ClaimSql },
        { "claim, skipping held rows", TaskStateMachine.ClaimSkippingHeldSql },
        { "succeed", TaskStateMachine.SucceedSql },
        { "heartbeat", TaskStateMachine.HeartbeatSql },
    };

    [Theory, MemberData(nameof(Statements))]
    public async Task Hot_statements_probe_by_key_even_when_planned_on_an_empty_table(string statement, string sql)
    {
        Assert.Equal(0, await stack.CountAsync("tasks"));
        await using var db = stack.OpenDatabase();
        await using var conn = await db.OpenConnectionAsync(TestContext.Current.CancellationToken);
        await using var tx = await conn.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await using (var pin = new NpgsqlCommand(ByKeyStatement.PinPlan, conn, tx))
            await pin.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        await using (var prepare = new NpgsqlCommand($"PREPARE hot AS {sql}", conn, tx))
            await prepare.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);

        var parameters = Parameter().Matches(sql).Max(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
        var plan = new List<string>();
        await using (var explain = new NpgsqlCommand($"EXPLAIN EXECUTE hot({string.Join(", ", Enumerable.Repeat("NULL", parameters))})", conn, tx))
        await using (var reader = await explain.ExecuteReaderAsync(TestContext.Current.CancellationToken))
            while (await reader.ReadAsync(TestContext.Current.CancellationToken)) plan.Add(reader.GetString(0));

        var text = string.Join('\n', plan);
        Assert.True(plan.Count(l => l.Contains("Index Scan using pk_tasks on tasks", StringComparison.Ordinal)) == 2,
            $"{statement}: expected the rows found and then updated through the primary key:\n{text}");
        foreach (var bad in new[] { "Seq Scan", "Hash Join", "Merge Join", "Materialize", "Bitmap" })
            Assert.False(text.Contains(bad, StringComparison.Ordinal), $"{statement}: {bad} in the plan:\n{text}");
    }

    [GeneratedRegex(@"\$(\d+)")]
    private static partial Regex Parameter();
}
