using System.Net;
using System.Text.Json;
using Tasks.Core.Auth;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary><c>tasksctl users ...</c> run as a process against a stack's <c>/api/v1/users</c>, checked by signing in to the dashboard.</summary>
public sealed class CliUserTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>, IDisposable
{
    private readonly Tasksctl _cli = new();

    private string Url => stack.WebAddress.ToString();

    private Task<Tasksctl.Outcome> Run(string? stdin, params string[] args) => _cli.RunWithInputAsync(stdin, [.. args, "--url", Url, "--key", stack.ApiKey]);

    [Fact]
    public async Task A_user_added_signs_in_and_passwd_changes_the_password()
    {
        var name = $"ada-{Guid.NewGuid():N}"[..16];
        var added = Json(await Run("first-password-1", "users", "add", name, "--role", "viewer", "--password-stdin", "--json"));
        Assert.Equal((name, "viewer"), (added.GetProperty("name").GetString(), added.GetProperty("role").GetString()));
        Assert.Contains(Json(await Run(null, "users", "list", "--json")).GetProperty("items").EnumerateArray(),
            u => u.GetProperty("name").GetString() == name && u.GetProperty("role").GetString() == "viewer");
        Assert.Contains(Lines((await Run(null, "users", "list")).StandardOutput), l => l.StartsWith($"{name}\tviewer\t", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Redirect, await SignInAsync(name, "first-password-1"));

        var passwd = await Run("second-password-2", "users", "passwd", name); // piped stdin: no prompt
        Assert.True(passwd.ExitCode == 0, passwd.StandardError);
        Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync(name, "first-password-1"));
        Assert.Equal(HttpStatusCode.Redirect, await SignInAsync(name, "second-password-2"));

        await AssertFails(9, "409", "first-password-1", "users", "add", name, "--role", "admin");
        await AssertFails(9, "password:", "short", "users", "passwd", name);
        await AssertFails(2, "no password on stdin", "", "users", "passwd", name);
        Assert.True(Json(await Run(null, "users", "remove", name, "--json")).GetProperty("removed").GetBoolean());
        await AssertFails(8, "There is no user", "second-password-2", "users", "passwd", name);
    }

    [Fact]
    public async Task A_read_key_gets_exit_7_on_users()
    {
        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        var key = reader.DefaultRequestHeaders.Authorization!.Parameter!;
        var run = await _cli.RunWithInputAsync("first-password-1", "users", "add", "eve", "--role", "admin", "--url", Url, "--key", key);
        Assert.Equal(7, run.ExitCode);
        Assert.Contains("'admin' scope", Assert.Single(Lines(run.StandardError)));
    }

    /// <summary>A redirect when the password is right.</summary>
    private Task<HttpStatusCode> SignInAsync(string name, string password) => SignInForm.PostAsync(stack.WebAddress, name, password);

    private async Task AssertFails(int exitCode, string message, string? stdin, params string[] args) =>
        (await Run(stdin, args)).AssertRefused(exitCode, message, args);

    private static JsonElement Json(Tasksctl.Outcome run) => run.Json();

    private static string[] Lines(string text) => Tasksctl.Lines(text);

    public void Dispose() => _cli.Dispose();
}
