using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Tasks.Benchmarks.Infrastructure;
using Tasks.Core.Auth;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 7. The dashboard's reads with a big table: task rows bulk-loaded with binary COPY (states and names mixed like
/// a busy week), then <c>GET /api/v1/tasks</c> filtered by state and by name (first page and a cursor deep in the
/// list) and <c>GET /api/v1/tasks/counts</c>, one request at a time against a real Tasks.Web.
/// </summary>
public static class QueryAtScale
{
    private static readonly string[] Names = ["demo.echo", "demo.sleep", "demo.fail", "tasks.cleanup", "reports.generate"];

    private static readonly string[] Errors = [.. new[]
    {
        "InvalidOperationException: something broke", "TimeoutException: the call timed out after 30 s",
        "HttpRequestException: 503 Service Unavailable", "KeyNotFoundException: no such customer",
    }.Select(e => e + "\n   at Bench.Handler.RunAsync(TaskContext context)\n   at Tasks.Worker.Run()")];

    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var result = new ScenarioResult("query", $"7. Query at scale ({s.QueryRows:N0} rows)");
        result.Settings["rows"] = s.QueryRows;
        result.Settings["requestsPerQuery"] = s.QueryRequests;
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_query");
        try
        {
            var key = ApiKeys.Generate(); // reading tasks needs a key (read scope; the bootstrap key is admin)
            var port = HostProcess.FreePort();
            var env = new Dictionary<string, string>
            {
                ["Auth__BootstrapApiKey"] = key,
                ["ConnectionStrings__Tasks"] = iso.Postgres,
                ["ConnectionStrings__RabbitMq"] = iso.Rabbit.ToString(),
                ["Web__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            await HostProcess.RunToEndAsync("Tasks.Web", env, "migrate");
            var load = Stopwatch.StartNew();
            await LoadAsync(iso.Postgres, s.QueryRows);
            result.Figures.Add(Figure.One("bulk load (COPY, indexes in place)", "rows/s", s.QueryRows / load.Elapsed.TotalSeconds));
            BenchContext.Log($"loaded {s.QueryRows:N0} rows in {load.Elapsed.TotalSeconds:0.0} s");

            await using var web = HostProcess.Start("Tasks.Web", port, env);
            await web.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = web.Address, Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);

            var queries = new List<(string Label, string Path)>
            {
                ("list state=failed, first page", "api/v1/tasks?state=failed"),
                ("list state=failed, deep cursor", $"api/v1/tasks?state=failed&cursor={await DeepCursorAsync(iso.Postgres, "state", "failed")}"),
                ("list name=demo.sleep, first page", "api/v1/tasks?name=demo.sleep"),
                ("list name=demo.sleep, deep cursor", $"api/v1/tasks?name=demo.sleep&cursor={await DeepCursorAsync(iso.Postgres, "name", "demo.sleep")}"),
                ("list unfiltered, first page", "api/v1/tasks"),
                ("counts by state", "api/v1/tasks/counts"),
            };
            foreach (var (label, path) in queries)
            {
                var uri = new Uri(path, UriKind.Relative);
                await RequestTimes.AddAsync(result, label, s.QueryRequests, async () =>
                {
                    using var response = await http.GetAsync(uri);
                    await response.Content.LoadIntoBufferAsync();
                    response.EnsureSuccessStatusCode();
                });
            }
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    /// <summary>
    /// Rows over the last week, oldest first: 88% succeeded, the rest spread over the other states; a failed row's
    /// error is one of <see cref="Errors"/> (with a stack trace), so each name has a handful of failed groups.
    /// </summary>
    internal static async Task LoadAsync(string postgres, int rows)
    {
        await using var conn = new NpgsqlConnection(postgres);
        await conn.OpenAsync();
        var now = DateTimeOffset.UtcNow;
        var first = now.AddDays(-7);
        var step = TimeSpan.FromDays(7) / rows;
        await using (var copy = await conn.BeginBinaryImportAsync(
            """
            COPY tasks (id, name, queue, state, args, result, error, attempts, max_attempts, attempts_base, time_limit_seconds,
                        backoff_seconds, enqueued_at, scheduled_for, started_at, finished_at, updated_at, worker, cancel_requested)
            FROM STDIN (FORMAT BINARY)
            """))
        {
            for (var i = 0; i < rows; i++)
            {
                var at = first + step * i;
                var state = (i % 100) switch
                {
                    < 88 => "succeeded",
                    < 91 => "failed",
                    < 94 => "queued",
                    94 => "pending",
                    95 => "running",
                    96 => "scheduled",
                    < 99 => "canceled",
                    _ => "expired",
                };
                var started = state is "succeeded" or "failed" or "running" ? at.AddMilliseconds(15) : (DateTimeOffset?)null;
                var finished = state is "succeeded" or "failed" or "canceled" or "expired" ? at.AddMilliseconds(40) : (DateTimeOffset?)null;
                await copy.StartRowAsync();
                await copy.WriteAsync(Guid.CreateVersion7(at), NpgsqlDbType.Uuid);
                await copy.WriteAsync(Names[i % Names.Length], NpgsqlDbType.Varchar);
                await copy.WriteAsync("default", NpgsqlDbType.Varchar);
                await copy.WriteAsync(state, NpgsqlDbType.Varchar);
                await copy.WriteAsync("""{"message": "bench", "data": null}""", NpgsqlDbType.Jsonb);
                if (state == "succeeded") await copy.WriteAsync("""{"message": "bench", "data": null}""", NpgsqlDbType.Jsonb);
                else await copy.WriteNullAsync();
                if (state == "failed") await copy.WriteAsync(Errors[i / 100 % Errors.Length], NpgsqlDbType.Text);
                else await copy.WriteNullAsync();
                await copy.WriteAsync(started is null ? 0 : 1, NpgsqlDbType.Integer);
                await copy.WriteAsync(3, NpgsqlDbType.Integer);
                await copy.WriteAsync(0, NpgsqlDbType.Integer);
                await copy.WriteAsync(300, NpgsqlDbType.Integer);
                await copy.WriteAsync(2.0, NpgsqlDbType.Double);
                await copy.WriteAsync(at, NpgsqlDbType.TimestampTz);
                if (state == "scheduled") await copy.WriteAsync(now.AddHours(1), NpgsqlDbType.TimestampTz);
                else await copy.WriteNullAsync();
                if (started is { } st) await copy.WriteAsync(st, NpgsqlDbType.TimestampTz);
                else await copy.WriteNullAsync();
                if (finished is { } fi) await copy.WriteAsync(fi, NpgsqlDbType.TimestampTz);
                else await copy.WriteNullAsync();
                await copy.WriteAsync(finished ?? started ?? at, NpgsqlDbType.TimestampTz);
                if (started is not null) await copy.WriteAsync("worker@bench:1", NpgsqlDbType.Varchar);
                else await copy.WriteNullAsync();
                await copy.WriteAsync(false, NpgsqlDbType.Boolean);
            }
            copy.Timeout = TimeSpan.FromHours(1); // the commit runs the insert triggers over every row: minutes at 10M
            await copy.CompleteAsync();
        }
        await using var vacuum = new NpgsqlCommand("VACUUM ANALYZE tasks, task_lookup", conn) { CommandTimeout = 3600 };
        await vacuum.ExecuteNonQueryAsync();
    }

    /// <summary>A cursor 90% of the way down the filtered list, as a client paging far back would hold.</summary>
    private static async Task<string> DeepCursorAsync(string postgres, string column, string value)
    {
        await using var conn = new NpgsqlConnection(postgres);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand(
            $"SELECT id FROM tasks WHERE {column} = $1 ORDER BY id DESC OFFSET (SELECT count(*) * 9 / 10 FROM tasks WHERE {column} = $1) LIMIT 1", conn);
        cmd.Parameters.Add(new() { Value = value });
        var id = (Guid)(await cmd.ExecuteScalarAsync())!;
        return Convert.ToBase64String(id.ToByteArray(bigEndian: true)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }
}
