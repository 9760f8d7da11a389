using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Tasks.Core.Auth;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// <c>tasksctl</c> as an operator sees it: the built tool run as a process against a running stack's HTTP API, its
/// stdout, its one-line errors on stderr and its exit codes (docs/cli.md).
/// </summary>
public sealed class CliTests(CliTests.Stack stack) : IClassFixture<CliTests.Stack>, IDisposable
{
    /// <summary>No key cache, so a revoked key is refused at once.</summary>
    public sealed class Stack : TasksStack
    {
        protected override Dictionary<string, string?> Settings => new(base.Settings) { ["Auth:KeyCacheSeconds"] = "0" };
    }

    private readonly Tasksctl _cli = new();

    private string Url => stack.WebAddress.ToString();

    private Task<Tasksctl.Outcome> Run(params string[] args) => _cli.RunAsync([.. args, "--url", Url, "--key", stack.ApiKey]);

    [Fact]
    public async Task Enqueue_with_wait_prints_the_result_and_exits_0()
    {
        var run = await Run("enqueue", "demo.echo", "--arg", "message=hello", "--arg", """data={"n": 3}""", "--wait");

        Assert.True(run.ExitCode == 0, run.StandardError);
        var result = JsonDocument.Parse(run.StandardOutput).RootElement;
        Assert.Equal("hello", result.GetProperty("message").GetString());
        Assert.Equal(3, result.GetProperty("data").GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task A_failing_task_exits_with_the_failed_code_and_prints_its_error()
    {
        var run = await Run("enqueue", "demo.fail", "--args", """{"message": "the printer is on fire"}""", "--wait");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal("", run.StandardOutput);
        var error = Assert.Single(Lines(run.StandardError), l => l.StartsWith("tasksctl:", StringComparison.Ordinal));
        Assert.Contains("failed", error);
        Assert.Contains("the printer is on fire", error);
    }

    [Fact]
    public async Task Json_output_of_every_command_is_one_document()
    {
        var enqueued = Json(await Run("enqueue", "demo.echo", "--arg", "message=json", "--json"));
        var id = enqueued.GetProperty("id").GetString()!;
        Assert.Equal("succeeded", Json(await Run("status", id, "--watch", "--json")).GetProperty("state").GetString());
        Assert.Equal(id, Json(await Run("status", id, "--json")).GetProperty("id").GetString());
        Assert.Contains(Json(await Run("list", "--name", "demo.echo", "--json")).GetProperty("items").EnumerateArray(), t => t.GetProperty("id").GetString() == id);
        Assert.True(Json(await Run("counts", "--json")).GetProperty("succeeded").GetInt64() >= 1);
        var delayed = Json(await Run("enqueue", "demo.echo", "--delay", "1h", "--json")).GetProperty("id").GetString()!;
        Assert.Equal("canceled", Json(await Run("cancel", delayed, "--json")).GetProperty("items")[0].GetProperty("state").GetString());
        Assert.NotEqual("canceled", Json(await Run("retry", delayed, "--json")).GetProperty("items")[0].GetProperty("state").GetString());

        var name = $"json-{Guid.NewGuid():N}";
        Assert.StartsWith("tk_", Json(await Run("keys", "create", name, "--scope", "read", "--json")).GetProperty("key").GetString());
        Assert.Contains(Json(await Run("keys", "list", "--json")).GetProperty("items").EnumerateArray(), k => k.GetProperty("name").GetString() == name);
        Assert.NotNull(Json(await Run("keys", "revoke", name, "--json")).GetProperty("revokedAt").GetString());
        Assert.Equal(Url, Json(await Run("login", "--json")).GetProperty("url").GetString());
    }

    [Fact]
    public async Task Retry_failed_of_a_name_says_how_many_then_retries_them_with_yes()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message = "once", failTimes = 1 }, maxAttempts = 1 });
        await stack.Http.WaitForStateAsync(task.Id, "failed");

        // No terminal to ask at: the count, and nothing done without --yes.
        var asked = await Run("retry", "--failed", "--name", "demo.fail");
        Assert.Equal(9, asked.ExitCode);
        Assert.Matches(@"^tasksctl: [1-9]\d* failed task\(s\) of demo\.fail would be retried; pass --yes", Assert.Single(Lines(asked.StandardError)));
        Assert.Equal("failed", (await stack.Http.GetTaskAsync(task.Id)).State);

        var done = Json(await Run("retry", "--failed", "--name", "demo.fail", "--yes", "--json"));
        Assert.True(done.GetProperty("touched").GetInt64() >= 1);
        Assert.Equal(done.GetProperty("matched").GetInt64(), done.GetProperty("touched").GetInt64());
        Assert.Equal(2, (await stack.Http.WaitForStateAsync(task.Id, "succeeded")).Attempts);

        var none = await Run("retry", "--failed", "--name", "no.such.task", "--yes");
        Assert.True(none.ExitCode == 0, none.StandardError);
        Assert.Equal("No failed tasks of no.such.task.", none.StandardOutput.Trim());
        Assert.Equal(2, (await Run("retry", "--failed", task.Id.ToString())).ExitCode);
        Assert.Equal(2, (await Run("retry", task.Id.ToString(), "--yes")).ExitCode);
    }

    [Fact]
    public async Task List_follows_cursors_to_the_limit_or_the_end()
    {
        var queue = $"q{Guid.NewGuid():N}"[..20];
        for (var i = 0; i < 5; i++) await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = $"{i}" }, queue, delaySeconds = 3600 });

        // Pages of 500 can't show the cursor at work with 5 tasks; --limit 3 asks for one page of 3, --all for all.
        Assert.Equal(3, Json(await Run("list", "--queue", queue, "--limit", "3", "--json")).GetProperty("items").GetArrayLength());
        var all = await Run("list", "--queue", queue, "--all");
        Assert.True(all.ExitCode == 0, all.StandardError);
        Assert.Equal(5, Lines(all.StandardOutput).Count(l => l.Contains(queue, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Each_failure_is_one_line_on_stderr_with_its_own_exit_code()
    {
        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        var readKey = reader.DefaultRequestHeaders.Authorization!.Parameter!;
        using var silent = new TcpListener(IPAddress.Loopback, 0); // accepts, never answers
        silent.Start();

        await AssertFails(5, "cannot connect to http://127.0.0.1:1", "counts", "--url", "http://127.0.0.1:1", "--key", stack.ApiKey);
        await AssertFails(6, "401 Unauthorized", "counts", "--url", Url, "--key", "tk_not-a-key");
        await AssertFails(6, "no API key given", "counts", "--url", Url);
        await AssertFails(7, "'enqueue' scope", "enqueue", "demo.echo", "--url", Url, "--key", readKey);
        var unknown = Guid.NewGuid();
        await AssertFails(8, $"There is no task {unknown}", "status", unknown.ToString(), "--url", Url, "--key", stack.ApiKey);
        await AssertFails(9, "name:", "enqueue", "no.such.task", "--url", Url, "--key", stack.ApiKey);
        await AssertFails(10, "no answer from", "counts", "--url", $"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}", "--key", stack.ApiKey, "--timeout", "1");
        await AssertFails(2, "--delay or --at", "enqueue", "demo.echo", "--delay", "5s", "--at", "2030-01-01T00:00:00Z");
    }

    [Fact]
    public async Task A_key_created_by_the_cli_enqueues_until_it_is_revoked()
    {
        var name = $"bot-{Guid.NewGuid():N}";
        var created = await Run("keys", "create", name, "--scope", "enqueue");
        Assert.True(created.ExitCode == 0, created.StandardError);
        var key = created.StandardOutput.Trim();
        Assert.StartsWith("tk_", key);

        var enqueued = await _cli.RunAsync("enqueue", "demo.echo", "--url", Url, "--key", key);
        Assert.True(enqueued.ExitCode == 0, enqueued.StandardError);
        Assert.True(Guid.TryParse(enqueued.StandardOutput.Trim(), out _), enqueued.StandardOutput);

        Assert.Equal(0, (await Run("keys", "revoke", name)).ExitCode);
        var refused = await _cli.RunAsync("enqueue", "demo.echo", "--url", Url, "--key", key);
        Assert.Equal(7, refused.ExitCode);
        Assert.Contains("403 Forbidden: This API key was revoked", refused.StandardError);
        var list = await Run("keys", "list");
        Assert.DoesNotContain(key, list.StandardOutput);
        Assert.Contains(name, list.StandardOutput);
    }

    [Fact]
    public async Task The_keys_api_names_each_bad_field_takes_no_name_twice_and_is_for_admins_only()
    {
        using (var bad = await stack.Http.PostJsonAsync("/api/v1/keys", new { name = "no spaces", scope = "root" }))
        {
            var problem = await bad.AssertProblemAsync(HttpStatusCode.BadRequest);
            Assert.Contains("letters", problem.FieldError("name"));
            Assert.Contains("admin", problem.FieldError("scope"));
        }
        var name = $"once-{Guid.NewGuid():N}";
        using (var first = await stack.Http.PostJsonAsync("/api/v1/keys", new { name, scope = "read" }))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
            Assert.True(first.Headers.CacheControl?.NoStore, "the answer holding the raw key must not be cached");
            using var created = await stack.Http.GetAsync(first.Headers.Location); // Location names the new key
            Assert.Equal(HttpStatusCode.OK, created.StatusCode);
            Assert.Contains($"\"{name}\"", await created.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        using (var again = await stack.Http.PostJsonAsync("/api/v1/keys", new { name, scope = "admin" })) await again.AssertProblemAsync(HttpStatusCode.Conflict);
        using (var none = await stack.Http.PostAsync($"/api/v1/keys/no-such-{Guid.NewGuid():N}/revoke", null)) await none.AssertProblemAsync(HttpStatusCode.NotFound);

        using var enqueuer = await stack.ClientWithKeyAsync(ApiKeyScope.Enqueue);
        using (var list = await enqueuer.GetAsync("/api/v1/keys")) Assert.Equal("admin", (await list.AssertProblemAsync(HttpStatusCode.Forbidden)).GetProperty("scope").GetString());
        await AssertFails(7, "'admin' scope", "keys", "create", "sneaky", "--scope", "admin", "--url", Url, "--key", enqueuer.DefaultRequestHeaders.Authorization!.Parameter!);
        await AssertFails(9, "name:", "keys", "create", "no spaces", "--scope", "read", "--url", Url, "--key", stack.ApiKey);
    }

    [Fact]
    public async Task Login_writes_a_config_file_only_its_owner_can_read_and_flags_beat_the_environment_beat_the_file()
    {
        var login = await _cli.RunWithInputAsync(stack.ApiKey, "login", "--url", Url); // the key on stdin
        Assert.True(login.ExitCode == 0, login.StandardError);
        var file = Path.Combine(_cli.ConfigHome, "tasks", "config.json");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(Url, JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("url").GetString());

        Assert.Equal(0, (await _cli.RunAsync("counts")).ExitCode);
        _cli.Environment["TASKS_URL"] = "http://127.0.0.1:1";
        Assert.Equal(5, (await _cli.RunAsync("counts")).ExitCode);
        Assert.Equal(0, (await _cli.RunAsync("counts", "--url", Url)).ExitCode);

        var refused = await _cli.RunWithInputAsync("tk_wrong", "login", "--url", Url);
        Assert.Equal(6, refused.ExitCode);
        Assert.Equal(Url, JsonDocument.Parse(File.ReadAllText(file)).RootElement.GetProperty("url").GetString());
    }

    [Fact]
    public async Task Ctrl_c_while_watching_stops_the_watch_not_the_task_and_says_how_to_resume()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 60 } });

        var run = await _cli.InterruptAsync("Watching task", "status", task.Id.ToString(), "--watch", "--url", Url, "--key", stack.ApiKey);

        Assert.Equal(130, run.ExitCode);
        Assert.Contains($"tasksctl status {task.Id} --watch", run.StandardError);
        var after = await stack.Http.GetTaskAsync(task.Id);
        Assert.False(after.CancelRequested);
        Assert.DoesNotContain(after.State, new[] { "canceled", "failed" });
        await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null); // frees the worker's slot
    }

    private async Task AssertFails(int exitCode, string message, params string[] args) =>
        (await _cli.RunAsync(args)).AssertRefused(exitCode, message, args);

    private static JsonElement Json(Tasksctl.Outcome run) => run.Json();

    private static string[] Lines(string text) => Tasksctl.Lines(text);

    public void Dispose() => _cli.Dispose();
}
