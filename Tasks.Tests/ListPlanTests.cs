using System.Data.Common;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Lifecycle.Moves;
using Tasks.Core.Queries;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// A page of a list reads about a page of rows, however deep its cursor: the list by name or queue joins
/// task_lookup to tasks, and a merge join whose tasks side started at the newest row walked every row above the
/// cursor (300 ms a page at 1,000,000 rows). Checked on the statement EF Core sends, with EXPLAIN ANALYZE.
/// </summary>
public sealed class ListPlanTests(TasksStack stack) : IClassFixture<TasksStack>
{
    private const int Rows = 200_000;

    [Fact]
    public async Task A_deep_page_reads_a_page_of_rows_not_the_rows_above_its_cursor()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var database = stack.OpenDatabase();
        // Ids in enqueue order and shaped as UUIDv7 (task i enqueued i ms after 1970), five names, two queues, seven
        // errors; finished long ago would be cleaned up, so none is.
        await using (var load = database.CreateCommand(
            $$"""
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds,
                               backoff_seconds, enqueued_at, updated_at, cancel_requested, error)
            SELECT (lpad(to_hex(i), 12, '0') || '70008000' || lpad(to_hex(i), 12, '0'))::uuid, (ARRAY['demo.echo','demo.sleep','demo.fail','tasks.cleanup','reports.generate'])[i % 5 + 1],
                   CASE WHEN i % 3 = 0 THEN 'plan.other' ELSE 'plan.main' END, 'canceled', '{"message":"x"}', 0, 3, 0, 0, 2, now(), now(), false,
                   'boom ' || i % 7 || E'\n   at Somewhere()'
            FROM generate_series(1, {{Rows}}) i;
            ANALYZE tasks, task_lookup;
            """))
        {
            load.CommandTimeout = 300;
            await load.ExecuteNonQueryAsync(ct);
        }
        var deep = Id(Rows / 10); // 90% of the way down
        var (tenth, twentieth) = (DateTimeOffset.FromUnixTimeMilliseconds(Rows / 10), DateTimeOffset.FromUnixTimeMilliseconds(Rows / 20));

        foreach (var filter in new[]
        {
            new TaskFilter(null, "demo.sleep", null, 50, deep),
            new TaskFilter(null, null, "plan.main", 50, deep),
            new TaskFilter(null, "demo.sleep", "plan.main", 50, deep),
            new TaskFilter(Tasks.Core.Lifecycle.TaskState.Canceled, null, null, 50, deep),
            new TaskFilter(null, null, null, 50, deep),
            // Time ranges are id ranges: every index walks from the range's end (or the cursor) to its start.
            new TaskFilter(null, null, null, 50, deep) { From = twentieth },
            new TaskFilter(null, null, null, 50, null) { To = tenth },
            new TaskFilter(null, "demo.sleep", null, 50, null) { From = twentieth, To = DateTimeOffset.FromUnixTimeMilliseconds(Rows / 2) },
            new TaskFilter(null, null, "plan.main", 50, deep) { From = twentieth },
            new TaskFilter(Tasks.Core.Lifecycle.TaskState.Canceled, null, null, 50, null) { To = tenth },
            // A group of the failed view: its state's rows, one in seven of them the group's.
            new TaskFilter(Tasks.Core.Lifecycle.TaskState.Canceled, null, null, 50, deep) { Error = "boom 3" },
        })
        {
            var sent = new CapturedCommand();
            var options = new DbContextOptionsBuilder<TasksDbContext>()
                .UseNpgsql(database).UseSnakeCaseNamingConvention().AddInterceptors(sent).Options;
            await using (var db = new TasksDbContext(options))
            {
                var (items, next) = await new TaskQueries(db).ListAsync(filter, ct);
                Assert.Equal(50, items.Count);
                Assert.NotNull(next);
                var below = TaskQueries.Bounds(filter).Below!.Value;
                Assert.All(items, t => Assert.True(t.Id.CompareTo(below) < 0 && (filter.Name is null || t.Name == filter.Name)
                    && (filter.From is null || t.Id.CompareTo(TaskFilter.IdAt(filter.From.Value)) >= 0)
                    && (filter.Error is null || t.Error!.StartsWith(filter.Error + "\n", StringComparison.Ordinal))));
            }

            var rowsRead = await RowsReadAsync(database, sent, ct);
            Assert.True(rowsRead < 2_000,
                $"A page of 50 by {filter} read {rowsRead:N0} rows ({Rows:N0} in the table, {Rows / 10:N0} below the cursor)");
        }

        // A bulk move's batch walks its state's rows in id order from its cursor: 1,000 tasks of one name in five read
        // about 5,000 rows, however many the table holds (the retry is run, then rolled back).
        var (conditions, values) = FilterSql.Conditions(new TaskFilter(null, "demo.sleep", null, 0, null) { From = twentieth }, 4);
        await using var conn = await database.OpenConnectionAsync(ct);
        await using var tx = await conn.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlCommand(
            "EXPLAIN (ANALYZE, FORMAT JSON) " + RetryMatching.Sql.Replace("{0}", conditions, StringComparison.Ordinal), conn, tx);
        foreach (var value in new object[] { "canceled", Id(Rows / 2), BulkActions.BatchSize }.Concat(values)) batch.Parameters.Add(new() { Value = value });
        using var batchPlan = JsonDocument.Parse((string)(await batch.ExecuteScalarAsync(ct))!);
        await tx.RollbackAsync(ct);
        var batchRead = Sum(batchPlan.RootElement[0].GetProperty("Plan"));
        Assert.True(batchRead < 12_000, $"A bulk retry batch of {BulkActions.BatchSize:N0} read {batchRead:N0} rows ({Rows:N0} in the table)");
    }

    private static Guid Id(int i)
    {
        var hex = i.ToString("x12", System.Globalization.CultureInfo.InvariantCulture);
        return Guid.Parse(hex + "70008000" + hex);
    }

    /// <summary>The rows every scan of the statement's plan returned, by EXPLAIN ANALYZE of it with its parameters.</summary>
    private static async Task<long> RowsReadAsync(NpgsqlDataSource database, CapturedCommand sent, CancellationToken ct)
    {
        await using var explain = database.CreateCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + sent.Text);
        explain.Parameters.AddRange(sent.Parameters.ToArray());
        var json = (string)(await explain.ExecuteScalarAsync(ct))!;
        using var plan = JsonDocument.Parse(json);
        return Sum(plan.RootElement[0].GetProperty("Plan"));
    }

    private static long Sum(JsonElement node)
    {
        var type = node.GetProperty("Node Type").GetString()!;
        var own = type.Contains("Scan", StringComparison.Ordinal)
            ? (long)(node.GetProperty("Actual Rows").GetDouble() * node.GetProperty("Actual Loops").GetDouble())
            : 0;
        if (node.TryGetProperty("Plans", out var children))
            foreach (var child in children.EnumerateArray()) own += Sum(child);
        return own;
    }

    private sealed class CapturedCommand : DbCommandInterceptor
    {
        public string Text { get; private set; } = "";
        public List<NpgsqlParameter> Parameters { get; } = [];

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Text = command.CommandText;
            Parameters.Clear();
            foreach (NpgsqlParameter p in command.Parameters) Parameters.Add(p.Clone());
            return ValueTask.FromResult(result);
        }
    }
}
