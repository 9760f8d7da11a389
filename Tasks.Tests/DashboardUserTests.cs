using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Tasks.Core.Auth;
using Tasks.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Tasks.Tests;

/// <summary>
/// Dashboard users: <c>/api/v1/users</c>, the <c>Tasks.Web users</c> command, <c>migrate</c>'s admin, and the
/// security stamp that ends a user's sessions when the password or role changes.
/// </summary>
public sealed class DashboardUserTests(DashboardStack stack) : IClassFixture<DashboardStack>
{
    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task The_users_api_creates_lists_changes_and_deletes_and_refuses_bad_input_naming_the_field()
    {
        using var bad = await stack.Http.PostAsJsonAsync("/api/v1/users", new { name = "no spaces", role = "boss", password = "short" });
        var problem = await bad.AssertProblemAsync(HttpStatusCode.BadRequest);
        foreach (var field in new[] { "name", "role", "password" }) Assert.NotEmpty(problem.FieldError(field));
        Assert.DoesNotContain("no spaces", await stack.Http.GetStringAsync("/api/v1/users"));

        var name = NewName("api");
        using (var created = await stack.Http.PostAsJsonAsync("/api/v1/users", new { name, role = "viewer", password = "a-long-password" }))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            Assert.Equal($"/api/v1/users/{name}", created.Headers.Location!.ToString());
        }
        using (var again = await stack.Http.PostAsJsonAsync("/api/v1/users", new { name, role = "admin", password = "another-password" }))
            await again.AssertProblemAsync(HttpStatusCode.Conflict);

        var listed = await stack.Http.GetStringAsync("/api/v1/users");
        var user = JsonDocument.Parse(listed).RootElement.GetProperty("items").EnumerateArray().Single(u => u.GetProperty("name").GetString() == name);
        Assert.Equal("viewer", user.GetProperty("role").GetString());
        Assert.DoesNotContain("password", listed, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("AQAAAA", listed, StringComparison.Ordinal); // the start of an Identity v3 hash

        using (var promoted = await stack.Http.PutAsJsonAsync($"/api/v1/users/{name}", new { role = "admin" }))
            Assert.Equal("admin", (await promoted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("role").GetString());
        using (var empty = await stack.Http.PutAsJsonAsync($"/api/v1/users/{name}", new { }))
            await empty.AssertProblemAsync(HttpStatusCode.BadRequest);
        using (var badRole = await stack.Http.PutAsJsonAsync($"/api/v1/users/{name}", new { role = "root" }))
            Assert.NotEmpty((await badRole.AssertProblemAsync(HttpStatusCode.BadRequest)).FieldError("role"));
        using (var unknown = await stack.Http.PutAsJsonAsync("/api/v1/users/nobody-here", new { role = "admin" }))
            await unknown.AssertProblemAsync(HttpStatusCode.NotFound);

        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        using (var forbidden = await reader.GetAsync("/api/v1/users"))
            await forbidden.AssertProblemAsync(HttpStatusCode.Forbidden);
        using (var anonymous = await stack.AnonymousClient().GetAsync("/api/v1/users"))
            await anonymous.AssertProblemAsync(HttpStatusCode.Unauthorized);

        using (var deleted = await stack.Http.DeleteAsync($"/api/v1/users/{name}"))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using (var gone = await stack.Http.DeleteAsync($"/api/v1/users/{name}"))
            await gone.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_changed_password_or_role_or_a_deleted_user_ends_the_users_sessions()
    {
        var name = NewName("stamp");
        await stack.CreateUserAsync(name, "viewer", "first-password");
        await using var first = await stack.SignedInAsync(name, "first-password");
        await AssertSignedInAsync(first, "viewer");

        using (var changed = await stack.Http.PutAsJsonAsync($"/api/v1/users/{name}", new { password = "second-password" }))
            changed.EnsureSuccessStatusCode();
        await AssertSignedOutAsync(first);

        await using var second = await stack.SignedInAsync(name, "second-password");
        await AssertSignedInAsync(second, "viewer");
        using (var promoted = await stack.Http.PutAsJsonAsync($"/api/v1/users/{name}", new { role = "admin" }))
            promoted.EnsureSuccessStatusCode();
        await AssertSignedOutAsync(second); // the old cookie says viewer: it must not stay one, nor become admin unasked

        await using var third = await stack.SignedInAsync(name, "second-password");
        await AssertSignedInAsync(third, "admin");
        using (var deleted = await stack.Http.DeleteAsync($"/api/v1/users/{name}"))
            deleted.EnsureSuccessStatusCode();
        await AssertSignedOutAsync(third);
    }

    [Fact]
    public async Task The_users_command_reads_the_password_from_stdin_and_passwd_changes_it()
    {
        var name = NewName("cli");
        var added = await WebCommand.RunWithInputAsync(stack, "cli-password-1\n", null, "users", "add", name, "--role", "viewer", "--password-stdin");
        Assert.True(added.ExitCode == 0, added.StandardError);
        Assert.DoesNotContain("cli-password-1", added.StandardOutput + added.StandardError, StringComparison.Ordinal);
        await using var context = await stack.SignedInAsync(name, "cli-password-1");
        await AssertSignedInAsync(context, "viewer");

        var passwd = await WebCommand.RunWithInputAsync(stack, "cli-password-2\n", null, "users", "passwd", name);
        Assert.True(passwd.ExitCode == 0, passwd.StandardError);
        await AssertSignedOutAsync(context);
        await using var again = await stack.SignedInAsync(name, "cli-password-2");

        var list = await WebCommand.RunAsync(stack, "users", "list");
        Assert.Equal(0, list.ExitCode);
        Assert.Matches(new Regex($@"(?m)^{Regex.Escape(name)}\s+viewer\s"), list.StandardOutput);

        var taken = await WebCommand.RunWithInputAsync(stack, "cli-password-3\n", null, "users", "add", name, "--role", "admin");
        Assert.Equal(1, taken.ExitCode);
        Assert.Contains("exists already", taken.StandardError, StringComparison.Ordinal);
        var shortPassword = await WebCommand.RunWithInputAsync(stack, "short\n", null, "users", "add", NewName("cli"), "--role", "viewer");
        Assert.Equal(1, shortPassword.ExitCode);
        Assert.Contains("password", shortPassword.StandardError, StringComparison.Ordinal);
        foreach (var usage in new[] { new[] { "users", "add", "x" }, ["users", "add", "not a name", "--role", "viewer"], ["users", "add", "x", "--role", "root"], ["users", "passwd"] })
        {
            var refused = await WebCommand.RunAsync(stack, usage);
            Assert.True(refused.ExitCode == 2, string.Join(' ', usage) + ": " + refused.StandardError);
            Assert.StartsWith("users: ", refused.StandardError, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Migrate_sets_the_admins_password_from_configuration_and_an_unchanged_one_signs_no_one_out()
    {
        await using var admin = await stack.SignedInAsync("admin", DashboardStack.AdminPassword);
        var same = await WebCommand.RunWithInputAsync(stack, null, new() { ["Auth__AdminPassword"] = DashboardStack.AdminPassword }, "migrate");
        Assert.True(same.ExitCode == 0, same.StandardError);
        await AssertSignedInAsync(admin, "admin");

        var changed = await WebCommand.RunWithInputAsync(stack, null, new() { ["Auth__AdminPassword"] = "a-new-admin-password" }, "migrate");
        Assert.True(changed.ExitCode == 0, changed.StandardError);
        await AssertSignedOutAsync(admin);
        await using var renewed = await stack.SignedInAsync("admin", "a-new-admin-password");
        await AssertSignedInAsync(renewed, "admin");

        var back = await WebCommand.RunWithInputAsync(stack, null, new() { ["Auth__AdminPassword"] = DashboardStack.AdminPassword }, "migrate");
        Assert.True(back.ExitCode == 0, back.StandardError);
    }

    private static async Task AssertSignedInAsync(IBrowserContext context, string role)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await Expect(page.Locator(".who")).ToContainTextAsync($"({role})");
        await page.CloseAsync();
    }

    private static async Task AssertSignedOutAsync(IBrowserContext context)
    {
        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(new Regex("/login\\?ReturnUrl=%2F$"));
        await page.CloseAsync();
    }
}
