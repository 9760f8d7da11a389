using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Npgsql;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// A table of hostile bodies thrown at every write endpoint over real HTTP: whatever comes in, the answer is a
/// 2xx or a problem+json 4xx, never a 5xx, and a refused request stores nothing.
/// </summary>
public sealed class HostileInputTests(HostileInputTests.Stack stack) : IClassFixture<HostileInputTests.Stack>
{
    /// <summary>No worker or scheduler: only what the API answers and stores matters here.</summary>
    public sealed class Stack : TasksStack
    {
        protected override bool StartWorker => false;
        protected override bool StartScheduler => false;
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];

    /// <summary>JSON values (as raw bytes, so invalid UTF-8 can be sent) that end up wherever a template puts them.</summary>
    private static readonly (string Label, byte[] Json)[] Values =
    [
        ("deep array", Utf8(new string('[', 10_000) + new string(']', 10_000))),
        ("deep object", Utf8(string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000))),
        ("1e1000000", Utf8("1e1000000")),
        ("-1e1000000", Utf8("-1e1000000")),
        ("1e-1000000", Utf8("1e-1000000")),
        ("1e131073", Utf8("1e131073")),
        ("0e-20000", Utf8("0e-20000")),
        ("30 digits", Utf8("123456789012345678901234567890")),
        ("1e400", Utf8("1e400")),
        ("-0", Utf8("-0")),
        ("1e9", Utf8("1e9")),
        ("-1", Utf8("-1")),
        ("1.5", Utf8("1.5")),
        ("lone high surrogate", Utf8("\"a\\ud800b\"")),
        ("lone low surrogate", Utf8("\"\\udc00\"")),
        ("reversed pair", Utf8("\"\\udc00\\ud800\"")),
        ("valid pair", Utf8("\"\\ud83d\\ude00\"")),
        ("NUL escape", Utf8("\"a\\u0000b\"")),
        ("U+FFFF", Utf8("\"\\uffff\"")),
        ("U+FEFF", Utf8("\"\ufeffx\"")),
        ("RTL override", Utf8("\"\u202eevil\"")),
        ("emoji", Utf8("\"😀🏳️‍🌈\"")),
        ("raw control char", Utf8("\"a\u0001b\"")),
        ("invalid UTF-8", Concat(Utf8("\"a"), [0xC3, 0x28], Utf8("\""))),
        ("lone 0xFF byte", Concat(Utf8("\""), [0xFF], Utf8("\""))),
        ("overlong UTF-8", Concat(Utf8("\""), [0xC0, 0xAF], Utf8("\""))),
        ("UTF-8 encoded surrogate", Concat(Utf8("\""), [0xED, 0xA0, 0x80], Utf8("\""))),
        ("huge string", Utf8("\"" + new string('x', 200_000) + "\"")),
        ("date +02:00", Utf8("\"2030-01-01T00:00:00+02:00\"")),
        ("date min +14:00", Utf8("\"0001-01-01T00:00:00+14:00\"")),
        ("date max -14:00", Utf8("\"9999-12-31T23:59:59-14:00\"")),
        ("date far future", Utf8("\"9999-12-31T23:59:59Z\"")),
        ("empty string", Utf8("\"\"")),
        ("amq. queue", Utf8("\"amq.x\"")),
        ("array", Utf8("[1,2]")),
        ("object", Utf8("{\"x\":1}")),
        ("true", Utf8("true")),
        ("null", Utf8("null")),
    ];

    /// <summary>Where a value goes: every field of the enqueue body, args and their fields, a batch entry.</summary>
    private static readonly string[] Templates =
    [
        "%",
        """{"name":%,"args":{}}""",
        """{"name":"demo.echo","args":%}""",
        """{"name":"demo.echo","args":{"data":%}}""",
        """{"name":"demo.echo","args":{"data":{"deeper":[%]}}}""",
        """{"name":"demo.echo","args":{"message":%}}""",
        """{"name":"demo.sleep","args":{"seconds":%}}""",
        """{"name":"demo.echo","args":{},"queue":%}""",
        """{"name":"demo.echo","args":{},"delaySeconds":%}""",
        """{"name":"demo.echo","args":{},"runAt":%}""",
        """{"name":"demo.echo","args":{},"expiresAt":%}""",
        """{"name":"demo.echo","args":{},"maxAttempts":%}""",
        """{"name":"demo.echo","args":{},"timeLimitSeconds":%}""",
        """{"name":"demo.echo","args":{},"backoffSeconds":%}""",
        """{"name":"demo.echo","args":{},"idempotencyKey":%}""",
        """{"tasks":%}""",
        """{"tasks":[%]}""",
        """{"tasks":[{"name":"demo.echo","args":{"data":%}}]}""",
        """{"tasks":[{"name":"demo.echo","args":{}},{"name":"demo.echo","args":{},"runAt":%}]}""",
    ];

    /// <summary>Whole bodies that aren't a value in a template.</summary>
    private static readonly (string Label, byte[] Body)[] Bodies =
    [
        ("empty body", []),
        ("whitespace", Utf8("   ")),
        ("null", Utf8("null")),
        ("trailing garbage", Utf8("""{"name":"demo.echo","args":{}} x""")),
        ("two objects", Utf8("""{"name":"demo.echo","args":{}}{}""")),
        ("unterminated", Utf8("""{"name":"demo.echo","args":{""")),
        ("duplicate name", Utf8("""{"name":"demo.echo","name":"demo.sleep","args":{}}""")),
        ("duplicate args field", Utf8("""{"name":"demo.sleep","args":{"seconds":1,"seconds":99999}}""")),
        ("duplicate in free-form args", Utf8("""{"name":"demo.echo","args":{"data":{"a":1,"a":2}}}""")),
        ("duplicate tasks", Utf8("""{"tasks":[],"tasks":[{"name":"demo.echo","args":{}}]}""")),
        ("UTF-8 BOM first", Concat([0xEF, 0xBB, 0xBF], Utf8("""{"name":"demo.echo","args":{}}"""))),
        ("comment", Utf8("""{"name":"demo.echo",/* x */"args":{}}""")),
        ("trailing comma", Utf8("""{"name":"demo.echo","args":{},}""")),
        ("single quotes", Utf8("{'name':'demo.echo','args':{}}")),
        ("NaN", Utf8("""{"name":"demo.echo","args":{},"delaySeconds":NaN}""")),
        ("delaySeconds as string", Utf8("""{"name":"demo.echo","args":{},"delaySeconds":"5"}""")),
        ("hostile key in args", Utf8("""{"name":"demo.echo","args":{"\ud800":1}}""")),
        ("hostile key in free-form args", Utf8("""{"name":"demo.echo","args":{"data":{"\ud800":1,"\u0000":2}}}""")),
        ("hostile key in body", Utf8("""{"name":"demo.echo","args":{},"\udfff":1}""")),
        ("too big", Utf8("{\"name\":\"demo.echo\",\"args\":{\"message\":\"" + new string('x', 300 * 1024) + "\"}}")),
    ];

    public static TheoryData<string> WriteEndpoints => ["/api/v1/tasks", "/api/v1/tasks/batch", "cancel", "retry"];

    [Theory]
    [MemberData(nameof(WriteEndpoints))]
    public async Task Hostile_bodies_get_a_2xx_or_a_problem_4xx_and_a_4xx_stores_nothing(string endpoint)
    {
        var paths = endpoint.StartsWith('/')
            ? [endpoint]
            : new[] { $"/api/v1/tasks/{Guid.NewGuid()}/{endpoint}", $"/api/v1/tasks/{(await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { } })).Id}/{endpoint}" };
        // Cancel and retry take no body: whole bodies are enough to show they don't read one.
        var cases = Bodies.Concat(
            from template in endpoint.StartsWith('/') ? Templates : ["%"]
            from value in Values
            let parts = template.Split('%')
            select ($"{template} with {value.Label}", Concat(Utf8(parts[0]), value.Json, Utf8(parts[1]))));

        await using var db = stack.OpenDatabase();
        var before = await IdsAsync(db);
        var acceptedIds = new HashSet<Guid>();
        var failures = new List<string>();
        foreach (var path in paths)
        foreach (var (label, body) in cases)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await stack.Http.PostAsync(path, content);
            var status = (int)response.StatusCode;
            var text = await response.Content.ReadAsStringAsync();
            var what = $"{path} {Shorten(label)} → {status}: {Shorten(text)}";
            if (status is >= 200 and < 300)
            {
                var answer = JsonDocument.Parse(text).RootElement;
                foreach (var task in answer.TryGetProperty("items", out var items) ? items.EnumerateArray().ToArray() : [answer])
                {
                    var id = task.GetProperty("id").GetGuid();
                    acceptedIds.Add(id);
                    // What was accepted can be read back.
                    using var read = await stack.Http.GetAsync($"/api/v1/tasks/{id}");
                    if (read.StatusCode != HttpStatusCode.OK) failures.Add($"{what}; reading it back gave {(int)read.StatusCode}");
                }
            }
            else if (status is >= 400 and < 500)
            {
                if (response.Content.Headers.ContentType?.MediaType != "application/problem+json") failures.Add($"{what} (not problem+json)");
            }
            else failures.Add(what);
        }
        // Every row that appeared belongs to an accepted request: nothing was stored for a 4xx.
        var stray = (await IdsAsync(db)).Except(before).Except(acceptedIds).ToList();
        if (stray.Count > 0) failures.Add($"{stray.Count} task(s) stored that no 2xx answer named: {string.Join(", ", stray.Take(5))}");
        Assert.True(failures.Count == 0, $"{failures.Count} bad answers:\n{string.Join("\n", failures)}");
        if (endpoint.StartsWith('/')) Assert.True(acceptedIds.Count > 0, "Nothing was accepted: the table no longer reaches the store.");
    }

    private static async Task<HashSet<Guid>> IdsAsync(NpgsqlDataSource db)
    {
        await using var cmd = db.CreateCommand("SELECT id FROM tasks");
        await using var reader = await cmd.ExecuteReaderAsync();
        var ids = new HashSet<Guid>();
        while (await reader.ReadAsync()) ids.Add(reader.GetGuid(0));
        return ids;
    }

    private async Task<JsonElement> RejectedAsync(string body, string path = "/api/v1/tasks")
    {
        await using var db = stack.OpenDatabase();
        var before = await IdsAsync(db);
        using var response = await stack.Http.PostRawAsync(path, body);
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(before, await IdsAsync(db));
        return problem;
    }

    [Fact]
    public async Task Numbers_jsonb_cannot_hold_are_a_400_naming_the_field()
    {
        Assert.Contains("numeric", (await RejectedAsync("""{"name":"demo.echo","args":{"data":1e1000000}}""")).FieldError("args.data"));
        Assert.Contains("numeric", (await RejectedAsync("""{"name":"demo.echo","args":{"data":{"x":[1,-1e1000000]}}}""")).FieldError("args.data.x[1]"));
        Assert.Contains("numeric", (await RejectedAsync("""{"name":"demo.echo","args":{"data":[0.5,{"y":1e-1000000}]}}""")).FieldError("args.data[1].y"));
        Assert.Contains("numeric", (await RejectedAsync("""{"tasks":[{"name":"demo.echo","args":{}},{"name":"demo.echo","args":{"data":1e131072}}]}""", "/api/v1/tasks/batch"))
            .FieldError("tasks[1].args.data"));

        // Big, but within numeric's range: stored as given.
        var big = await stack.Http.EnqueueAsync(JsonDocument.Parse("""{"name":"demo.echo","args":{"data":[123456789012345678901234567890,1e131071,1e-16383]}}""").RootElement);
        Assert.Equal("123456789012345678901234567890", (await stack.Http.GetTaskAsync(big.Id)).Args.GetProperty("data")[0].GetRawText());
    }

    [Theory]
    [InlineData("\\ud800")]
    [InlineData("a\\udc00")]
    [InlineData("\\udc00\\ud800")]
    public async Task A_lone_surrogate_is_a_400_naming_the_field(string escaped)
    {
        Assert.Contains("surrogate", (await RejectedAsync("""{"name":"demo.echo","args":{"data":{"s":""" + "\"" + escaped + "\"}}}")).FieldError("args.data.s"));
        Assert.Contains("surrogate", (await RejectedAsync($$$"""{"name":"demo.echo","args":{"data":["{{{escaped}}}"]}}""")).FieldError("args.data[0]"));
        (await RejectedAsync($$$"""{"name":"demo.echo","args":{"message":"{{{escaped}}}"}}""")).FieldError("args.message");
        (await RejectedAsync($$"""{"name":"demo.echo","args":{},"idempotencyKey":"{{escaped}}"}""")).FieldError("idempotencyKey");

        // A pair is one character, and fine.
        var pair = await stack.Http.EnqueueAsync(JsonDocument.Parse("""{"name":"demo.echo","args":{"data":"\ud83d\ude00"}}""").RootElement);
        Assert.Equal("\U0001F600", (await stack.Http.GetTaskAsync(pair.Id)).Args.GetProperty("data").GetString());
    }

    [Fact]
    public async Task Times_with_an_offset_are_taken_as_the_same_instant()
    {
        var runAt = DateTimeOffset.UtcNow.AddDays(1);
        var expiresAt = runAt.AddHours(1);
        var task = await stack.Http.EnqueueAsync(new
        {
            name = "demo.echo", args = new { },
            runAt = runAt.ToOffset(TimeSpan.FromHours(2)).ToString("O"), expiresAt = expiresAt.ToOffset(TimeSpan.FromHours(-5.5)).ToString("O"),
        });
        var stored = await stack.Http.GetTaskAsync(task.Id);
        Assert.Equal("scheduled", stored.State);
        Assert.Equal(runAt, stored.ScheduledFor!.Value, TimeSpan.FromMilliseconds(1));
        Assert.Equal(TimeSpan.Zero, stored.ScheduledFor!.Value.Offset);
        Assert.Equal(expiresAt, stored.ExpiresAt!.Value, TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public async Task RunAt_and_delaySeconds_at_most_a_year_ahead()
    {
        var tooLate = DateTimeOffset.UtcNow.AddDays(366).ToString("O");
        Assert.Contains("Api:MaxDelayDays", (await RejectedAsync($$"""{"name":"demo.echo","args":{},"runAt":"{{tooLate}}"}""")).FieldError("runAt"));
        Assert.Contains("Api:MaxDelayDays", (await RejectedAsync($$"""{"tasks":[{"name":"demo.echo","args":{},"runAt":"{{tooLate}}"}]}""", "/api/v1/tasks/batch"))
            .FieldError("tasks[0].runAt"));
        Assert.Contains("Api:MaxDelayDays", (await RejectedAsync("""{"name":"demo.echo","args":{},"runAt":"9999-12-31T23:59:59Z"}""")).FieldError("runAt"));
        Assert.Contains("Api:MaxDelayDays", (await RejectedAsync($$"""{"name":"demo.echo","args":{},"delaySeconds":{{366 * 86400}}}""")).FieldError("delaySeconds"));

        var inTime = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, runAt = DateTimeOffset.UtcNow.AddDays(364) });
        Assert.Equal("scheduled", inTime.State);
    }

    [Fact]
    public async Task Duplicate_keys_are_a_400()
    {
        (await RejectedAsync("""{"name":"demo.echo","name":"demo.sleep","args":{}}""")).FieldError("name");
        await RejectedAsync("""{"name":"demo.sleep","args":{"seconds":1,"seconds":99999}}""");
        await RejectedAsync("""{"name":"demo.echo","args":{"data":{"a":1,"a":2}}}""");
    }

    private static string Shorten(string s) => s.Length <= 300 ? s : s[..300] + "…";
}
