using System.Net;
using System.Net.Http.Headers;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>Every kind of bad input gets a problem+json naming what is wrong, and nothing is stored.</summary>
public sealed class EnqueueValidationTests(EnqueueValidationTests.Stack stack) : IClassFixture<EnqueueValidationTests.Stack>
{
    /// <summary>No worker: these tests only look at what the API accepts and stores.</summary>
    public sealed class Stack : TasksStack
    {
        protected override bool StartWorker => false;
        protected override bool StartScheduler => false;
    }

    private async Task<System.Text.Json.JsonElement> RejectedAsync(object body, HttpStatusCode status = HttpStatusCode.BadRequest)
    {
        var before = await stack.CountAsync("tasks");
        using var response = await stack.Http.PostJsonAsync("/api/v1/tasks", body);
        var problem = await response.AssertProblemAsync(status);
        Assert.Equal(before, await stack.CountAsync("tasks"));
        return problem;
    }

    [Fact]
    public async Task Unknown_task_name_is_rejected_listing_the_known_names()
    {
        var problem = await RejectedAsync(new { name = "no.such.task", args = new { } });
        var error = problem.FieldError("name");
        Assert.Contains("no.such.task", error);
        Assert.Contains("demo.echo", error);
        Assert.Contains("demo.sleep", error);
    }

    [Fact]
    public async Task Args_that_do_not_fit_the_contract_are_rejected_with_field_errors()
    {
        var wrongType = await RejectedAsync(new { name = "demo.sleep", args = new { seconds = "ten" } });
        Assert.Contains("args.seconds", wrongType.GetProperty("errors").EnumerateObject().Select(p => p.Name));

        var outOfRange = await RejectedAsync(new { name = "demo.sleep", args = new { seconds = 99999 } });
        Assert.Contains("3600", outOfRange.FieldError("args.seconds"));

        var missing = await RejectedAsync(new { name = "demo.sleep", args = new { } });
        Assert.Contains("seconds", missing.FieldError("args"), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Unknown_fields_in_args_or_body_are_errors()
    {
        var inArgs = await RejectedAsync(new { name = "demo.sleep", args = new { seconds = 1, second = 2 } });
        Assert.Contains("second", inArgs.FieldError("args.second"));

        var inBody = await RejectedAsync(new { name = "demo.echo", args = new { }, delay = 5 });
        Assert.Contains("delay", inBody.FieldError("delay"));
    }

    [Fact]
    public async Task Malformed_json_is_rejected()
    {
        using var response = await stack.Http.PostRawAsync("/api/v1/tasks", """{"name": "demo.echo", "args": {""");
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.True(problem.TryGetProperty("errors", out _));
    }

    [Fact]
    public async Task Body_over_the_limit_gets_413()
    {
        var big = new string('x', 300 * 1024);
        var problem = await RejectedAsync(new { name = "demo.echo", args = new { message = big } }, HttpStatusCode.RequestEntityTooLarge);
        Assert.Contains("262144", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("UPPER")]
    [InlineData("with space")]
    [InlineData("-leading-dash")]
    [InlineData("")]
    public async Task Bad_queue_names_are_rejected(string queue)
    {
        var problem = await RejectedAsync(new { name = "demo.echo", args = new { }, queue });
        Assert.Contains("queue", problem.FieldError("queue"));
    }

    [Fact]
    public async Task ExpiresAt_in_the_past_is_rejected()
    {
        var problem = await RejectedAsync(new { name = "demo.echo", args = new { }, expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) });
        Assert.Contains("past", problem.FieldError("expiresAt"));
    }

    [Theory]
    [InlineData("maxAttempts", 0)]
    [InlineData("maxAttempts", 1000)]
    [InlineData("timeLimitSeconds", -5)]
    [InlineData("delaySeconds", -1)]
    [InlineData("backoffSeconds", -2)]
    public async Task Nonsense_numbers_are_rejected(string field, int value)
    {
        var body = new Dictionary<string, object> { ["name"] = "demo.echo", ["args"] = new { }, [field] = value };
        var problem = await RejectedAsync(body);
        Assert.Contains(field, problem.FieldError(field));
    }

    [Fact]
    public async Task Both_delay_and_runAt_is_rejected()
    {
        var problem = await RejectedAsync(new { name = "demo.echo", args = new { }, delaySeconds = 5, runAt = DateTimeOffset.UtcNow.AddMinutes(1) });
        Assert.Contains("not both", problem.FieldError("runAt"));
    }

    [Fact]
    public async Task Batch_with_one_bad_task_stores_none()
    {
        var before = await stack.CountAsync("tasks");
        using var response = await stack.Http.PostJsonAsync("/api/v1/tasks/batch", new
        {
            tasks = new object[]
            {
                new { name = "demo.echo", args = new { message = "a" } },
                new { name = "demo.echo", args = new { message = "b" } },
                new { name = "demo.sleep", args = new { seconds = -1 } },
            },
        });
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("0", problem.FieldError("tasks[2].args.seconds"));
        Assert.Equal(before, await stack.CountAsync("tasks"));
    }

    [Fact]
    public async Task Null_entry_in_a_batch_is_rejected()
    {
        var before = await stack.CountAsync("tasks");
        using var response = await stack.Http.PostRawAsync("/api/v1/tasks/batch", """{"tasks": [{"name": "demo.echo", "args": {}}, null]}""");
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("object", problem.FieldError("tasks[1]"));
        Assert.Equal(before, await stack.CountAsync("tasks"));
    }

    [Fact]
    public async Task NUL_characters_are_rejected_not_a_server_error()
    {
        var inArgs = await RejectedAsync(new { name = "demo.echo", args = new { message = "a\0b" } });
        Assert.Contains("NUL", inArgs.FieldError("args"));
        var inKey = await RejectedAsync(new { name = "demo.echo", args = new { }, idempotencyKey = "k\0" });
        Assert.Contains("NUL", inKey.FieldError("idempotencyKey"));
        using var list = await stack.Http.GetAsync("/api/v1/tasks?name=a%00b");
        Assert.Contains("NUL", (await list.AssertProblemAsync(HttpStatusCode.BadRequest)).FieldError("name"));

        // A literal backslash-u-0000 text is fine: only a real NUL is refused.
        using var literal = await stack.Http.PostJsonAsync("/api/v1/tasks", new { name = "demo.echo", args = new { message = "\\u0000" } });
        Assert.Equal(HttpStatusCode.Accepted, literal.StatusCode);
    }

    [Fact]
    public async Task Args_of_a_task_this_web_app_does_not_know_are_hidden()
    {
        var id = Guid.CreateVersion7();
        await stack.ExecuteAsync("""
            INSERT INTO tasks (id, name, queue, state, args, attempts, max_attempts, attempts_base, time_limit_seconds,
                               backoff_seconds, enqueued_at, updated_at, cancel_requested)
            VALUES ($1, 'newer.task', 'default', 'queued', '{"token": "from-a-newer-client"}', 0, 1, 0, 30, 1, now(), now(), false)
            """, id);

        var body = await stack.Http.GetStringAsync($"/api/v1/tasks/{id}");
        Assert.DoesNotContain("from-a-newer-client", body);
        Assert.Equal("***", (await stack.Http.GetTaskAsync(id)).Args.GetString());
    }

    [Fact]
    public async Task Write_endpoints_need_an_API_key()
    {
        var before = await stack.CountAsync("tasks");
        using var anonymous = new HttpClient { BaseAddress = stack.WebAddress };
        using var none = await anonymous.PostJsonAsync("/api/v1/tasks", new { name = "demo.echo", args = new { } });
        await none.AssertProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("Bearer", none.Headers.WwwAuthenticate.ToString());

        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "tk_not-a-real-key");
        using var unknown = await anonymous.PostJsonAsync("/api/v1/tasks", new { name = "demo.echo", args = new { } });
        await unknown.AssertProblemAsync(HttpStatusCode.Unauthorized);

        var revoked = Core.Auth.ApiKeys.Generate();
        await stack.ExecuteAsync("INSERT INTO api_keys (id, name, hash, created_at, revoked_at) VALUES ($1, 'revoked', $2, now(), now())",
            Guid.NewGuid(), Core.Auth.ApiKeys.Hash(revoked));
        anonymous.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", revoked);
        using var forbidden = await anonymous.PostJsonAsync("/api/v1/tasks", new { name = "demo.echo", args = new { } });
        await forbidden.AssertProblemAsync(HttpStatusCode.Forbidden);

        Assert.Equal(before, await stack.CountAsync("tasks"));
    }

    [Fact]
    public async Task Unknown_task_id_is_a_404_problem()
    {
        using var response = await stack.Http.GetAsync($"/api/v1/tasks/{Guid.NewGuid()}");
        await response.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("state=bogus", "state")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=abc", "limit")]
    [InlineData("cursor=nope", "cursor")]
    public async Task Bad_list_parameters_are_rejected(string query, string field)
    {
        using var response = await stack.Http.GetAsync($"/api/v1/tasks?{query}");
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotEmpty(problem.FieldError(field));
    }
}
