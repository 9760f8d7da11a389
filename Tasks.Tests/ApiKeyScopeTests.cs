using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tasks.Core.Auth;
using Tasks.Core.Data;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// Nobody reads task data without a key, and a key does only what its scope allows: read, enqueue (and read),
/// admin (also cancel, retry and maintenance tasks). An idempotency key belongs to the API key that used it.
/// </summary>
public sealed class ApiKeyScopeTests(ApiKeyScopeTests.Stack stack) : IClassFixture<ApiKeyScopeTests.Stack>
{
    /// <summary>No worker: these tests look at who may ask what. A short key cache, so a revocation shows at once.</summary>
    public sealed class Stack : TasksStack
    {
        protected override bool StartWorker => false;
        protected override bool StartScheduler => false;
        protected override Dictionary<string, string?> Settings => new(base.Settings) { ["Auth:KeyCacheSeconds"] = "1" };
    }

    private static readonly object Echo = new { name = "demo.echo", args = new { message = "scoped" } };

    [Fact]
    public async Task Anonymous_callers_get_401_from_every_api_endpoint_and_no_task_data_on_the_front_page()
    {
        var task = await stack.Http.EnqueueAsync(Echo);
        using var anonymous = stack.AnonymousClient();
        foreach (var path in new[] { "/api/v1/tasks", $"/api/v1/tasks/{task.Id}", "/api/v1/tasks/counts", "/api/v1/tasks?state=queued" })
        {
            using var response = await anonymous.GetAsync(path);
            var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Contains("Bearer", response.Headers.WwwAuthenticate.ToString());
            Assert.DoesNotContain("scoped", problem.ToString());
        }
        foreach (var path in new[] { "/api/v1/tasks", "/api/v1/tasks/batch", $"/api/v1/tasks/{task.Id}/cancel", $"/api/v1/tasks/{task.Id}/retry" })
        {
            using var response = await anonymous.PostJsonAsync(path, new { tasks = new[] { Echo } });
            await response.AssertProblemAsync(HttpStatusCode.Unauthorized);
        }

        // The front page is the dashboard: it needs a dashboard sign-in (DashboardTests), which no API key is.
        using var page = await anonymous.GetAsync("/");
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        Assert.DoesNotContain("queued", await page.Content.ReadAsStringAsync());
        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        using var withKey = await reader.GetAsync("/");
        Assert.Equal(HttpStatusCode.Unauthorized, withKey.StatusCode);
    }

    [Fact]
    public async Task A_read_key_can_look_at_tasks_but_not_enqueue()
    {
        var task = await stack.Http.EnqueueAsync(Echo);
        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);

        Assert.Equal(task.Id, (await reader.GetTaskAsync(task.Id)).Id);
        var page = (await reader.GetFromJsonAsync<PageView>("/api/v1/tasks?name=demo.echo", ApiExtensions.Json))!;
        Assert.Contains(page.Items, t => t.Id == task.Id);
        var counts = (await reader.GetFromJsonAsync<Dictionary<string, long>>("/api/v1/tasks/counts", ApiExtensions.Json))!;
        Assert.True(counts.Values.Sum() >= 1);

        var before = await stack.CountAsync("tasks");
        using var single = await reader.PostJsonAsync("/api/v1/tasks", Echo);
        AssertNeedsScope(await single.AssertProblemAsync(HttpStatusCode.Forbidden), "enqueue", "read");
        using var batch = await reader.PostJsonAsync("/api/v1/tasks/batch", new { tasks = new[] { Echo } });
        AssertNeedsScope(await batch.AssertProblemAsync(HttpStatusCode.Forbidden), "enqueue", "read");
        using var cancel = await reader.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        AssertNeedsScope(await cancel.AssertProblemAsync(HttpStatusCode.Forbidden), "admin", "read");
        Assert.Equal(before, await stack.CountAsync("tasks"));
    }

    [Fact]
    public async Task An_enqueue_key_can_enqueue_but_not_cancel_or_retry()
    {
        using var enqueuer = await stack.ClientWithKeyAsync(ApiKeyScope.Enqueue);
        var task = await enqueuer.EnqueueAsync(new { name = "demo.echo", args = new { }, delaySeconds = 3600 });
        Assert.Equal(task.Id, (await enqueuer.GetTaskAsync(task.Id)).Id);

        using var cancel = await enqueuer.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        AssertNeedsScope(await cancel.AssertProblemAsync(HttpStatusCode.Forbidden), "admin", "enqueue");
        using var retry = await enqueuer.PostAsync($"/api/v1/tasks/{task.Id}/retry", null);
        AssertNeedsScope(await retry.AssertProblemAsync(HttpStatusCode.Forbidden), "admin", "enqueue");
        Assert.Equal(1, await stack.CountAsync("tasks WHERE id = $1 AND state = 'scheduled' AND NOT cancel_requested", task.Id));

        // The admin key may (the 409 says it got past authorization to the task's state).
        using var adminRetry = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/retry", null);
        await adminRetry.AssertProblemAsync(HttpStatusCode.Conflict);
        using var adminCancel = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, adminCancel.StatusCode);
    }

    [Fact]
    public async Task Only_an_admin_key_enqueues_a_maintenance_task_alone_or_in_a_batch()
    {
        var cleanup = new { name = "tasks.cleanup", args = new { retentionDays = 30 } };
        using var enqueuer = await stack.ClientWithKeyAsync(ApiKeyScope.Enqueue);
        var before = await stack.CountAsync("tasks");

        using var single = await enqueuer.PostJsonAsync("/api/v1/tasks", cleanup);
        var problem = await single.AssertProblemAsync(HttpStatusCode.Forbidden);
        AssertNeedsScope(problem, "admin", "enqueue");
        Assert.Contains("tasks.cleanup", problem.GetProperty("detail").GetString());
        using var batch = await enqueuer.PostJsonAsync("/api/v1/tasks/batch", new { tasks = new[] { Echo, cleanup } });
        AssertNeedsScope(await batch.AssertProblemAsync(HttpStatusCode.Forbidden), "admin", "enqueue");
        Assert.Equal(before, await stack.CountAsync("tasks"));

        var admitted = await stack.Http.EnqueueAsync(cleanup);
        Assert.Equal("tasks.cleanup", admitted.Name);
    }

    [Fact]
    public async Task An_idempotency_key_is_the_callers_own_and_a_repeat_must_ask_for_the_same_task()
    {
        var key = "order-" + Guid.NewGuid();
        object Ask(string message, string name = "demo.echo") => new { name, args = new { message }, idempotencyKey = key };
        using var alice = await stack.ClientWithKeyAsync(ApiKeyScope.Enqueue);
        using var bob = await stack.ClientWithKeyAsync(ApiKeyScope.Enqueue);

        var first = await alice.EnqueueAsync(Ask("one"));
        var bobs = await bob.EnqueueAsync(Ask("one"));
        Assert.NotEqual(first.Id, bobs.Id);
        Assert.Equal(first.Id, (await alice.EnqueueAsync(Ask("one"))).Id);
        Assert.Equal(first.Id, (await alice.EnqueueBatchAsync(Ask("one"))).Single().Id);

        using var otherArgs = await alice.PostJsonAsync("/api/v1/tasks", Ask("two"));
        Assert.Contains("idempotencyKey", (await otherArgs.AssertProblemAsync(HttpStatusCode.Conflict)).FieldError("idempotencyKey"));
        using var otherName = await alice.PostJsonAsync("/api/v1/tasks", new { name = "demo.sleep", args = new { seconds = 1 }, idempotencyKey = key });
        await otherName.AssertProblemAsync(HttpStatusCode.Conflict);
        var fresh = "fresh-" + Guid.NewGuid();
        using var inBatch = await alice.PostJsonAsync("/api/v1/tasks/batch", new
        {
            tasks = new object[] { new { name = "demo.echo", args = new { }, idempotencyKey = fresh }, Ask("two") },
        });
        (await inBatch.AssertProblemAsync(HttpStatusCode.Conflict)).FieldError("tasks[1].idempotencyKey");

        Assert.Equal(2, await stack.CountAsync("tasks WHERE idempotency_key = $1", key));
        Assert.Equal(0, await stack.CountAsync("tasks WHERE idempotency_key = $1", fresh));
        Assert.Equal("one", (await alice.GetTaskAsync(first.Id)).Args.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Keys_are_created_listed_and_revoked_with_the_web_command()
    {
        var name = "ci-" + Guid.NewGuid().ToString("N")[..8];
        var created = await WebCommand.RunAsync(stack, "keys", "create", name, "--scope", "enqueue");
        Assert.True(created.ExitCode == 0, created.ToString());
        var key = Assert.Single(created.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("tk_", key);
        Assert.Equal(1, await stack.CountAsync("api_keys WHERE name = $1 AND hash = $2 AND scope = 'enqueue'", name, ApiKeys.Hash(key)));
        Assert.Equal(0, await stack.CountAsync("api_keys WHERE hash = $1", key));

        using var client = stack.ClientWithKey(key);
        var task = await client.EnqueueAsync(Echo);
        using var cancel = await client.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null);
        AssertNeedsScope(await cancel.AssertProblemAsync(HttpStatusCode.Forbidden), "admin", "enqueue");

        // keys list in-process (the same command code; a host process costs seconds), after its arguments are read.
        var listed = await ListKeysAsync();
        Assert.Matches($@"(?m)^{name}\s+enqueue\s+\S+ \S+Z\s+-\r?$", listed);
        Assert.Matches(@"(?m)^bootstrap\s+admin\s", listed);
        Assert.DoesNotContain(key, listed);
        Assert.DoesNotContain(stack.ApiKey, listed);

        var revoked = await WebCommand.RunAsync(stack, "keys", "revoke", name);
        Assert.True(revoked.ExitCode == 0, revoked.ToString());
        await RefusedSoonAsync(client);
        Assert.Equal(1, await stack.CountAsync("api_keys WHERE name = $1 AND revoked_at IS NOT NULL", name));
        Assert.Matches($@"(?m)^{name}\s+enqueue\s+\S+ \S+Z\s+\S+ \S+Z\r?$", await ListKeysAsync());

        // Bad arguments are refused before the host is built: one line on stderr, nothing on stdout, nothing stored.
        foreach (var bad in new[] { new[] { "keys", "create", "x", "--scope", "superuser" }, ["keys", "create", "x"], ["keys", "create", "-x", "--scope", "read"], ["keys", "frobnicate"] })
        {
            var outcome = await WebCommand.RunAsync(stack, bad);
            Assert.True(outcome.ExitCode != 0, outcome.ToString());
            Assert.Equal("", outcome.StandardOutput);
            Assert.Single(outcome.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }
        Assert.Equal(0, await stack.CountAsync("api_keys WHERE name IN ('x', '-x')"));

        // A name is never reused, revoked or not; revoking an unknown name says so.
        await using var services = stack.Web.Services.CreateAsyncScope();
        var db = services.ServiceProvider.GetRequiredService<TasksDbContext>();
        Assert.Null(await ApiKeys.CreateAsync(db, name, ApiKeyScope.Read, TimeProvider.System, CancellationToken.None));
        Assert.False(await ApiKeys.RevokeAsync(db, "nobody-" + name, TimeProvider.System, CancellationToken.None));
    }

    [Fact]
    public async Task The_migration_makes_existing_keys_admin_and_new_raw_keys_read()
    {
        var name = stack.Name + "_mig";
        var isolated = await stack.Servers.CreateIsolatedAsync(name);
        try
        {
            var options = new DbContextOptionsBuilder<TasksDbContext>().UseNpgsql(isolated.Postgres).UseSnakeCaseNamingConvention().Options;
            await using (var db = new TasksDbContext(options))
            {
                var migrations = db.Database.GetMigrations().ToList();
                var before = migrations[migrations.FindIndex(m => m.EndsWith("_ApiKeyScopes", StringComparison.Ordinal)) - 1];
                await db.GetService<IMigrator>().MigrateAsync(before);
                await using var source = NpgsqlDataSource.Create(isolated.Postgres);
                await using (var insert = source.CreateCommand("INSERT INTO api_keys (id, name, hash, created_at) VALUES ($1, 'old', 'h1', now())"))
                {
                    insert.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
                    await insert.ExecuteNonQueryAsync();
                }
                await db.Database.MigrateAsync();
                await using (var raw = source.CreateCommand("INSERT INTO api_keys (id, name, hash, created_at) VALUES ($1, 'raw', 'h2', now())"))
                {
                    raw.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
                    await raw.ExecuteNonQueryAsync();
                }
                var scopes = await db.ApiKeys.AsNoTracking().ToDictionaryAsync(k => k.Name, k => k.Scope);
                Assert.Equal(ApiKeyScope.Admin, scopes["old"]);
                Assert.Equal(ApiKeyScope.Read, scopes["raw"]);
            }
        }
        finally
        {
            await stack.Servers.DropIsolatedAsync(name);
        }
    }

    private async Task<string> ListKeysAsync()
    {
        var command = Web.Auth.KeyCommands.Parse(["list"], out var error);
        Assert.True(command is not null, error);
        using StringWriter stdout = new(), stderr = new();
        Assert.Equal(0, await Web.Auth.KeyCommands.RunAsync(stack.Web.Services, command, stdout, stderr, CancellationToken.None));
        return stdout.ToString();
    }

    private static void AssertNeedsScope(JsonElement problem, string needed, string has)
    {
        Assert.Equal(needed, problem.GetProperty("scope").GetString());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains($"'{needed}' scope", detail);
        Assert.Contains($"has '{has}'", detail);
    }

    /// <summary>A revoked key is refused once the hosts' few seconds of caching (1 s here) are over.</summary>
    private static async Task RefusedSoonAsync(HttpClient client)
    {
        for (var i = 0; i < 100; i++)
        {
            using var response = await client.GetAsync("/api/v1/tasks/counts");
            if (response.StatusCode == HttpStatusCode.Forbidden)
            {
                Assert.Equal("API key revoked", (await response.AssertProblemAsync(HttpStatusCode.Forbidden)).GetProperty("title").GetString());
                return;
            }
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await Task.Delay(100);
        }
        Assert.Fail("The revoked key was still accepted after 10 s.");
    }
}
