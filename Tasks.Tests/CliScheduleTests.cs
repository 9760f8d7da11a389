using System.Net.Http.Json;
using System.Text.Json;
using Tasks.Core.Auth;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary><c>tasksctl schedules ...</c> run as a process against a running stack's <c>/api/v1/schedules</c> (docs/cli.md).</summary>
public sealed class CliScheduleTests(CliTests.Stack stack) : IClassFixture<CliTests.Stack>, IDisposable
{
    private readonly Tasksctl _cli = new();

    private string Url => stack.WebAddress.ToString();

    private Task<Tasksctl.Outcome> Run(params string[] args) => _cli.RunAsync([.. args, "--url", Url, "--key", stack.ApiKey]);

    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task A_schedule_is_added_listed_shown_paused_triggered_edited_and_removed()
    {
        var name = NewName("cli");
        // 03:00 daily: never due while the test runs, so the only task is the triggered one.
        var added = await Run("schedules", "add", name, "--task", "demo.echo", "--arg", "message=beat", "--cron", "0 0 3 * * ?",
            "--time-zone", "Europe/Berlin", "--description", "from the cli");
        Assert.True(added.ExitCode == 0, added.StandardError);

        var list = Json(await Run("schedules", "list", "--json")).GetProperty("items").EnumerateArray().Single(s => s.GetProperty("name").GetString() == name);
        Assert.Equal(("demo.echo", "0 0 3 * * ?", "api"), (list.GetProperty("task").GetString(), list.GetProperty("cron").GetString(), list.GetProperty("source").GetString()));
        var plain = await Run("schedules", "list");
        Assert.Contains(Lines(plain.StandardOutput), l => l.StartsWith($"{name}\tdemo.echo\t0 0 3 * * ?", StringComparison.Ordinal));

        var show = await Run("schedules", "show", name);
        Assert.True(show.ExitCode == 0, show.StandardError);
        Assert.Contains("time zone\tEurope/Berlin", show.StandardOutput);
        Assert.Contains("description\tfrom the cli", show.StandardOutput);
        Assert.Contains(Lines(show.StandardOutput), l => l.StartsWith("args\t{", StringComparison.Ordinal) && l.Contains("\"message\":\"beat\"", StringComparison.Ordinal));
        Assert.Equal(5, Json(await Run("schedules", "show", name, "--json")).GetProperty("nextFireTimes").GetArrayLength());

        Assert.True(Json(await Run("schedules", "pause", name, "--json")).GetProperty("paused").GetBoolean());
        Assert.Contains("paused\tyes", (await Run("schedules", "show", name)).StandardOutput);
        Assert.False(Json(await Run("schedules", "resume", name, "--json")).GetProperty("paused").GetBoolean());

        var trigger = await Run("schedules", "trigger", name);
        Assert.True(trigger.ExitCode == 0, trigger.StandardError);
        var taskId = Guid.Parse(trigger.StandardOutput.Trim());
        var tasks = await stack.Http.GetFromJsonAsync<JsonElement>($"/api/v1/tasks?schedule={name}", ApiExtensions.Json);
        Assert.Equal(taskId, Assert.Single(tasks.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
        var shown = Json(await Run("schedules", "show", name, "--json"));
        Assert.Equal(taskId, shown.GetProperty("recentFires")[0].GetProperty("taskId").GetGuid());

        Assert.True((await Run("schedules", "edit", name, "--cron", "0 15 4 * * ?")).ExitCode == 0);
        var edited = Json(await Run("schedules", "show", name, "--json"));
        Assert.Equal(("0 15 4 * * ?", "Europe/Berlin", "from the cli", "beat"), (edited.GetProperty("cron").GetString(), edited.GetProperty("timeZone").GetString(),
            edited.GetProperty("description").GetString(), edited.GetProperty("args").GetProperty("message").GetString()));

        var removed = await Run("schedules", "remove", name);
        Assert.True(removed.ExitCode == 0, removed.StandardError);
        await AssertFails(8, $"There is no schedule '{name}'", "schedules", "show", name, "--url", Url, "--key", stack.ApiKey);
    }

    [Fact]
    public async Task A_bad_cron_names_the_field_and_a_read_key_may_not_add()
    {
        await AssertFails(9, "cron:", "schedules", "add", NewName("bad"), "--task", "demo.echo", "--cron", "0 0 25 * * ?", "--url", Url, "--key", stack.ApiKey);

        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        var readKey = reader.DefaultRequestHeaders.Authorization!.Parameter!;
        await AssertFails(7, "'admin' scope", "schedules", "add", NewName("read"), "--task", "demo.echo", "--every", "1h", "--url", Url, "--key", readKey);
        Assert.Equal(0, (await _cli.RunAsync("schedules", "list", "--url", Url, "--key", readKey)).ExitCode);
    }

    [Fact]
    public async Task Edit_asks_for_args_again_rather_than_store_the_redacted_secret()
    {
        var name = NewName("secret");
        Assert.Equal(0, (await Run("schedules", "add", name, "--task", "test.secret", "--args", """{"user": "ada", "password": "pw"}""", "--every", "1h")).ExitCode);

        await AssertFails(2, "--args", "schedules", "edit", name, "--every", "2h", "--url", Url, "--key", stack.ApiKey);
        Assert.Equal(3600, Json(await Run("schedules", "show", name, "--json")).GetProperty("intervalSeconds").GetInt32());
        var edited = Json(await Run("schedules", "edit", name, "--every", "2h", "--args", """{"user": "ada", "password": "pw2"}""", "--json"));
        Assert.Equal((7200, "***"), (edited.GetProperty("intervalSeconds").GetInt32(), edited.GetProperty("args").GetProperty("password").GetString()));
        Assert.Equal(0, (await Run("schedules", "remove", name)).ExitCode);
    }

    private async Task AssertFails(int exitCode, string message, params string[] args) =>
        (await _cli.RunAsync(args)).AssertRefused(exitCode, message, args);

    private static JsonElement Json(Tasksctl.Outcome run) => run.Json();

    private static string[] Lines(string text) => Tasksctl.Lines(text);

    public void Dispose() => _cli.Dispose();
}
