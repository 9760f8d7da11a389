using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Npgsql;
using Tasks.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Tasks.Tests;

/// <summary>
/// The dashboard in a real headless Chromium: closed by default, sign-in and its rate limit, roles, anti-forgery,
/// the key ring in PostgreSQL, the Schedules page's actions, encoding and the security headers. Each test saves
/// full-page screenshots of what it visits under artifacts/screenshots/.
/// </summary>
public sealed class DashboardTests(DashboardStack stack) : IClassFixture<DashboardStack>
{
    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task Every_page_sends_a_signed_out_browser_to_login_and_htmx_gets_401()
    {
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();
        foreach (var path in DashboardStack.Pages)
        {
            await page.GotoAsync(path);
            await Expect(page).ToHaveURLAsync(new Regex($"/login\\?ReturnUrl={Regex.Escape(Uri.EscapeDataString(path))}$"));
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Sign in" })).ToBeVisibleAsync();
        }
        await DashboardStack.ScreenshotAsync(page, "login");

        // What htmx and fetch send: a 401 (htmx is told where to go), never a redirect or a page.
        var htmx = await context.APIRequest.GetAsync("/?handler=Counts", new() { Headers = new Dictionary<string, string> { ["HX-Request"] = "true" }, MaxRedirects = 0 });
        Assert.Equal(401, htmx.Status);
        Assert.Equal("/login", htmx.Headers["hx-redirect"]);
        var fetch = await context.APIRequest.GetAsync("/schedules", new() { Headers = new Dictionary<string, string> { ["Accept"] = "*/*" }, MaxRedirects = 0 });
        Assert.Equal(401, fetch.Status);
        // An API key is not a dashboard sign-in.
        var withKey = await context.APIRequest.GetAsync("/", new() { Headers = new Dictionary<string, string> { ["Authorization"] = $"Bearer {stack.ApiKey}" }, MaxRedirects = 0 });
        Assert.Equal(401, withKey.Status);
    }

    [Fact]
    public async Task A_bad_password_is_refused_then_sign_ins_are_rate_limited_and_the_password_is_never_logged()
    {
        var name = NewName("limited");
        const string password = "the-right-password";
        await stack.CreateUserAsync(name, "viewer", password);
        await using var context = await stack.NewContextAsync();
        var page = await context.NewPageAsync();
        for (var i = 0; i < 3; i++)
        {
            var refused = await DashboardStack.SignInAsync(page, name, "wrong-password-" + i);
            Assert.Equal(401, refused.Status);
            await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong user name or password.");
        }
        // The fourth try is refused before the password is looked at: even the right one.
        var limited = await DashboardStack.SignInAsync(page, name, password);
        Assert.Equal(429, limited.Status);
        Assert.NotNull(await limited.HeaderValueAsync("retry-after"));
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Too many failed sign-ins");
        Assert.DoesNotContain(await context.CookiesAsync(), c => c.Name == "tasks.session");
        await DashboardStack.ScreenshotAsync(page, "login-limited");

        var logged = stack.Logs.Events.Where(e => e.Message.Contains(name, StringComparison.Ordinal)).ToList();
        Assert.Equal(3, logged.Count(e => e.Message.Contains("sign-in failed", StringComparison.Ordinal)));
        Assert.Contains(logged, e => e.Message.Contains("too many failures", StringComparison.Ordinal));
        Assert.DoesNotContain(stack.Logs.Events, e => e.Message.Contains("wrong-password", StringComparison.Ordinal)
            || e.Values.Values.Any(v => v?.ToString()?.Contains("wrong-password", StringComparison.Ordinal) == true));
    }

    [Fact]
    public async Task The_session_cookie_is_small_http_only_and_lax_and_signing_out_ends_it()
    {
        await using var context = await stack.SignedInAsync("admin", DashboardStack.AdminPassword);
        var cookie = Assert.Single(await context.CookiesAsync(), c => c.Name == "tasks.session");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Lax, cookie.SameSite);
        Assert.False(cookie.Secure); // served over plain HTTP here; Secure whenever the request is HTTPS
        Assert.True(cookie.Value.Length < 1500, $"the session cookie is {cookie.Value.Length} characters");

        var page = await context.NewPageAsync();
        await page.GotoAsync("/");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex("/login$"));
        await page.GotoAsync("/schedules");
        await Expect(page).ToHaveURLAsync(new Regex("/login\\?ReturnUrl="));
    }

    [Fact]
    public async Task The_overview_shows_counts_by_state_and_refreshes_them_without_a_reload()
    {
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/");
        var all = page.Locator("#state-counts tfoot td");
        var before = long.Parse(await all.InnerTextAsync(), System.Globalization.NumberStyles.AllowThousands, System.Globalization.CultureInfo.CurrentCulture);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "pending" })).ToBeVisibleAsync();

        await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "counted" } });
        await Expect(all).Not.ToHaveTextAsync(before.ToString("N0", System.Globalization.CultureInfo.CurrentCulture), new() { Timeout = 15_000 });
        Assert.Equal("/", new Uri(page.Url).AbsolutePath); // htmx swapped the table in; the page wasn't reloaded
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Overview" })).ToHaveAttributeAsync("aria-current", "page");
        await DashboardStack.ScreenshotAsync(page, "overview");
    }

    [Fact]
    public async Task An_admin_pauses_resumes_and_triggers_a_schedule_from_the_schedules_page()
    {
        var name = NewName("dash");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", args = new { message = "from the dashboard" }, cron = "0 0 4 * * ?", description = "A nightly echo" });
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/schedules");
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = name });
        await Expect(row).ToContainTextAsync("active");

        await row.GetByRole(AriaRole.Button, new() { Name = $"Pause {name}" }).ClickAsync();
        await Expect(row).ToContainTextAsync("paused");
        await Expect(page.Locator("#flash")).ToContainTextAsync($"Paused '{name}'.");
        Assert.True((await stack.Http.GetScheduleAsync(name)).Paused);

        await row.GetByRole(AriaRole.Button, new() { Name = $"Trigger now {name}" }).ClickAsync();
        await Expect(page.Locator("#flash")).ToContainTextAsync($"Triggered '{name}'");
        var fire = Assert.Single(await stack.FiresAsync(name));
        await Expect(row.Locator("td[data-label='Last task'] a")).ToHaveAttributeAsync("href", $"/tasks/{fire.Id}");
        await Expect(page.Locator("#flash a")).ToHaveAttributeAsync("href", $"/tasks/{fire.Id}");
        await DashboardStack.ScreenshotAsync(page, "schedules");

        await row.GetByRole(AriaRole.Button, new() { Name = $"Resume {name}" }).FocusAsync(); // by keyboard this time
        await page.Keyboard.PressAsync("Enter");
        await Expect(row).ToContainTextAsync("active");
        Assert.False((await stack.Http.GetScheduleAsync(name)).Paused);
        Assert.Equal("/schedules", new Uri(page.Url).AbsolutePath);

        // Gone meanwhile: the 404's flash says so and its row goes (htmx swaps an action's 4xx answer).
        await stack.Http.DeleteScheduleAsync(name);
        await row.GetByRole(AriaRole.Button, new() { Name = $"Pause {name}" }).ClickAsync();
        await Expect(page.Locator("#flash")).ToContainTextAsync($"There is no schedule '{name}'.");
        await Expect(row).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task A_viewer_sees_no_action_buttons_and_an_action_post_is_403()
    {
        var name = NewName("viewed");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", args = new { message = "read only" }, cron = "0 0 4 * * ?" });
        var page = await stack.Viewer.NewPageAsync();
        await page.GotoAsync("/schedules");
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = name });
        await Expect(row).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Pause" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Trigger now" })).ToHaveCountAsync(0);
        await Expect(page.Locator(".who")).ToContainTextAsync("viewer");
        await DashboardStack.ScreenshotAsync(page, "schedules-viewer");

        // With a valid anti-forgery token, as htmx would send it: refused for the role, not the token.
        var response = await stack.Viewer.APIRequest.PostAsync($"/schedules?handler=Pause&name={name}",
            new() { Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = await TokenAsync(page), ["HX-Request"] = "true" } });
        Assert.Equal(403, response.Status);
        Assert.False((await stack.Http.GetScheduleAsync(name)).Paused);
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task A_post_without_its_anti_forgery_token_is_refused()
    {
        var name = NewName("forged");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", args = new { message = "x" }, cron = "0 0 4 * * ?" });
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/schedules");

        var forged = await stack.Admin.APIRequest.PostAsync($"/schedules?handler=Pause&name={name}", new() { Headers = new Dictionary<string, string> { ["HX-Request"] = "true" } });
        Assert.Equal(400, forged.Status);
        var wrong = await stack.Admin.APIRequest.PostAsync($"/schedules?handler=Trigger&name={name}",
            new() { Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = "CfDJ8not-a-token", ["HX-Request"] = "true" } });
        Assert.Equal(400, wrong.Status);
        Assert.False((await stack.Http.GetScheduleAsync(name)).Paused);
        Assert.Empty(await stack.FiresAsync(name));

        // The same request with the page's token goes through: the token was what was missing.
        var real = await stack.Admin.APIRequest.PostAsync($"/schedules?handler=Pause&name={name}",
            new() { Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = await TokenAsync(page), ["HX-Request"] = "true" } });
        Assert.Equal(200, real.Status);
        Assert.True((await stack.Http.GetScheduleAsync(name)).Paused);
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task The_session_survives_a_web_restart_through_the_key_ring_in_postgres()
    {
        await using var context = await stack.SignedInAsync("admin", DashboardStack.AdminPassword);
        await using (var db = stack.OpenDatabase())
        await using (var keys = db.CreateCommand("SELECT count(*) FROM data_protection_keys"))
            Assert.True((long)(await keys.ExecuteScalarAsync())! >= 1, "no Data Protection key in PostgreSQL");

        // A new web process, with a HOME of its own: only the database's key ring can read the cookie (a ring on
        // disk, ASP.NET Core's default, would be a new one there). Cookies don't care about ports.
        var home = Directory.CreateTempSubdirectory("tasks-web-home-");
        try
        {
            var environment = stack.ProcessEnvironment(Ports.Free());
            environment["HOME"] = home.FullName;
            await using var web = await HostProcess.StartAsync("Tasks.Web", environment);
            var page = await context.NewPageAsync();
            var response = await page.GotoAsync(new Uri(web.Address, "/schedules").ToString());
            Assert.Equal(200, response!.Status);
            await Expect(page).ToHaveURLAsync(new Uri(web.Address, "/schedules").ToString());
            await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Schedules" })).ToBeVisibleAsync();
        }
        finally
        {
            home.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Markup_in_a_schedule_shows_as_text_and_runs_nothing()
    {
        var name = NewName("xss");
        const string payload = DashboardStack.Markup;
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", args = new { message = payload }, cron = "0 0 4 * * ?", description = payload });
        var page = await stack.Admin.NewPageAsync();
        var dialogs = DashboardStack.DismissDialogs(page);
        await page.GotoAsync("/schedules");
        var row = page.GetByRole(AriaRole.Row).Filter(new() { HasText = name });
        await Expect(row.Locator(".description")).ToHaveTextAsync(payload);
        await Expect(row.Locator("img")).ToHaveCountAsync(0);
        await Expect(page.Locator("main script")).ToHaveCountAsync(0);
        await row.GetByRole(AriaRole.Button, new() { Name = $"Pause {name}" }).ClickAsync(); // the htmx swap encodes too
        await Expect(row).ToContainTextAsync("paused");
        await Expect(row.Locator(".description")).ToHaveTextAsync(payload);
        Assert.Empty(dialogs);
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task Every_response_has_the_security_headers_and_the_pages_break_no_rule_of_the_policy()
    {
        var page = await stack.Admin.NewPageAsync();
        var violations = new List<string>();
        page.Console += (_, message) => { if (message.Text.Contains("Content Security Policy", StringComparison.OrdinalIgnoreCase)) violations.Add(message.Text); };
        foreach (var path in DashboardStack.Pages)
        {
            var response = await page.GotoAsync(path);
            await AssertHeadersAsync(response!);
        }
        // htmx loaded from wwwroot/lib and working under the policy: the counts refresh (a request htmx makes).
        await page.GotoAsync("/");
        await page.WaitForResponseAsync(r => r.Url.Contains("handler=Counts", StringComparison.Ordinal));
        Assert.Empty(violations);

        using var api = await stack.Http.GetAsync("/api/v1/schedules");
        Assert.Contains("frame-ancestors 'none'", api.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        using var anonymous = stack.AnonymousClient();
        using var login = await anonymous.GetAsync("/login");
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        Assert.Equal("nosniff", login.Headers.GetValues("X-Content-Type-Options").Single());
        using var htmx = await anonymous.GetAsync("/lib/htmx.min.js");
        Assert.Equal(HttpStatusCode.OK, htmx.StatusCode);
    }

    private static async Task AssertHeadersAsync(IResponse response)
    {
        var headers = await response.AllHeadersAsync();
        var csp = headers["content-security-policy"];
        Assert.Contains("script-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-eval", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", headers["x-content-type-options"]);
        Assert.Equal("same-origin", headers["referrer-policy"]);
    }

    /// <summary>The anti-forgery token the layout gives htmx (in the body's hx-headers).</summary>
    private static async Task<string> TokenAsync(IPage page)
    {
        var headers = await page.Locator("body").GetAttributeAsync("hx-headers");
        return System.Text.Json.JsonDocument.Parse(headers!).RootElement.GetProperty("RequestVerificationToken").GetString()!;
    }
}
