using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Npgsql;
using Tasks.Benchmarks.Infrastructure;

namespace Tasks.Benchmarks.Scenarios;

/// <summary>
/// 12. The dashboard's pages at 10,000,000 task rows (50,000 with --quick), loaded as scenario 7 loads them: a real
/// Tasks.Web, signed in through <c>/login</c> as the admin, each page's full GET of its HTML timed one at a time
/// after a warm-up (the Overview and its counts partial, the task list first and at a deep cursor, a filtered list,
/// one task and its progress partial, the failed groups).
/// </summary>
public static partial class DashboardAtScale
{
    public static async Task<ScenarioResult> RunAsync(BenchContext ctx)
    {
        var s = ctx.Settings;
        var rows = s.Quick ? 50_000 : 10_000_000;
        var requests = s.QueryRequests;
        var result = new ScenarioResult("dashboard", $"12. Dashboard pages ({rows:N0} rows)");
        result.Settings["rows"] = rows;
        result.Settings["requestsPerPage"] = requests;
        var iso = await ctx.Servers.CreateIsolatedAsync("bench_dashboard");
        try
        {
            var password = Guid.NewGuid().ToString("N");
            var port = HostProcess.FreePort();
            var env = new Dictionary<string, string>
            {
                ["Auth__AdminPassword"] = password,
                ["ConnectionStrings__Tasks"] = iso.Postgres,
                ["ConnectionStrings__RabbitMq"] = iso.Rabbit.ToString(),
                ["Web__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            await HostProcess.RunToEndAsync("Tasks.Web", env, "migrate");
            var load = Stopwatch.StartNew();
            await QueryAtScale.LoadAsync(iso.Postgres, rows);
            BenchContext.Log($"loaded {rows:N0} rows in {load.Elapsed.TotalSeconds:0} s");

            await using var web = HostProcess.Start("Tasks.Web", port, env);
            await web.WaitReadyAsync(TimeSpan.FromSeconds(60));
            using var http = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false })
            {
                BaseAddress = web.Address, Timeout = TimeSpan.FromSeconds(60),
            };
            await SignInAsync(http, "admin", password);

            await using var db = NpgsqlDataSource.Create(iso.Postgres);
            var failed = await ScalarAsync<Guid>(db, "SELECT id FROM tasks WHERE state = 'failed' ORDER BY id DESC LIMIT 1");
            var running = await ScalarAsync<Guid>(db, "SELECT id FROM tasks WHERE state = 'running' ORDER BY id DESC LIMIT 1");
            // The page after a task 90% of the way down, reached as a reader gets there: by the page's own "next" link.
            var deep = await ScalarAsync<Guid>(db, $"SELECT id FROM tasks ORDER BY id DESC OFFSET {rows * 9 / 10} LIMIT 1");
            var deepPage = await GetAsync(http, $"tasks?cursor={Cursor(deep)}");
            var next = NextLink().Match(deepPage) is { Success: true } m
                ? WebUtility.HtmlDecode(m.Groups[1].Value).TrimStart('/')
                : throw new InvalidOperationException("The task list at a deep cursor has no next link.");

            var pages = new List<(string Label, string Path)>
            {
                ("Overview /", ""),
                ("Overview counts partial", "?handler=Counts"),
                ("Tasks, first page", "tasks"),
                ("Tasks, deep cursor", next),
                ("Tasks state=failed&name=reports.generate", "tasks?state=failed&name=reports.generate"),
                ("Task /tasks/{id} (failed)", $"tasks/{failed}"),
                ("Task progress partial (running)", $"tasks/{running}?handler=Progress"),
                ("Failed /failed", "failed"),
            };
            foreach (var (label, path) in pages)
                await RequestTimes.AddAsync(result, label, requests, () => GetAsync(http, path));
        }
        finally
        {
            await ctx.Servers.DropIsolatedAsync(iso.Name);
        }
        return result;
    }

    /// <summary>The /login form as a browser posts it: its anti-forgery token (and cookie) first, then the session cookie.</summary>
    private static async Task SignInAsync(HttpClient http, string name, string password)
    {
        var form = await GetAsync(http, "login");
        var token = Token().Match(form) is { Success: true } m ? m.Groups[1].Value : throw new InvalidOperationException("/login has no anti-forgery token.");
        using var body = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = name, ["password"] = password, ["__RequestVerificationToken"] = token,
        });
        using var answer = await http.PostAsync(new Uri("login", UriKind.Relative), body);
        if (answer.StatusCode != HttpStatusCode.Redirect)
            throw new InvalidOperationException($"Sign-in answered {(int)answer.StatusCode}, not a redirect.");
    }

    /// <summary>The page's HTML; anything but 200 (a redirect to /login included) is a failure of the run.</summary>
    private static async Task<string> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        var html = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
            throw new InvalidOperationException($"GET /{path} answered {(int)response.StatusCode}.");
        return html;
    }

    private static string Cursor(Guid id) =>
        Convert.ToBase64String(id.ToByteArray(bigEndian: true)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource db, string sql)
    {
        await using var cmd = db.CreateCommand(sql);
        cmd.CommandTimeout = 600;
        return (T)(await cmd.ExecuteScalarAsync())!;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex Token();

    [GeneratedRegex("rel=\"next\" href=\"([^\"]+)\"")]
    private static partial Regex NextLink();
}
