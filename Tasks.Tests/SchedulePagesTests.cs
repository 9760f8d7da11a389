using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Tasks.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Tasks.Tests;

/// <summary>
/// The Schedules pages in a real headless Chromium: the cron checked as one types, create and edit through the
/// API's own validation and store, a config schedule refused, recent fires as they happen, the viewer's 403, and a
/// list whose statement count doesn't grow with the schedules. Screenshots of the list and the form.
/// </summary>
public sealed class SchedulePagesTests(SchedulePagesTests.Stack stack) : IClassFixture<SchedulePagesTests.Stack>
{
    /// <summary>The dashboard's stack with one schedule from configuration, applied by the scheduler as it starts.</summary>
    public sealed class Stack : DashboardStack
    {
        public const string ConfigSchedule = "config-nightly";

        protected override Dictionary<string, string?> Settings => new(base.Settings)
        {
            ["Schedules:0:name"] = ConfigSchedule,
            ["Schedules:0:task"] = "demo.echo",
            ["Schedules:0:cron"] = "0 0 5 * * ?",
            ["Schedules:0:args:message"] = "from configuration",
        };
    }

    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..20];

    [Fact]
    public async Task A_cron_is_checked_as_it_is_typed_and_the_created_schedule_fires_at_the_five_times_shown()
    {
        var name = NewName("made");
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/schedules");
        var navigations = 0;
        page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) navigations++; };
        await page.GetByText("New schedule").ClickAsync();
        await page.Locator("#name").FillAsync(name);
        await page.Locator("#task").SelectOptionAsync("demo.echo");
        await page.Locator("#args").FillAsync("""{"message": "made in the form"}""");

        var preview = page.Locator("#cron-preview");
        await page.Locator("#cron").FillAsync("0 61 * * * ?");
        await Expect(preview.Locator(".field-error")).ToContainTextAsync("cron: The minutes field does not parse");
        await page.Locator("#cron").FillAsync("0 30 4 * * ?");
        await page.Locator("#timeZone").FillAsync("Europe/Paris");
        await Expect(preview).ToContainTextAsync("Next five fires in Europe/Paris");
        await Expect(preview.Locator("li")).ToHaveCountAsync(5);
        await Expect(preview.Locator("li").First).ToContainTextAsync("04:30:00 (+01:00)"); // December: CET
        var shown = await TimesAsync(preview.Locator("li time"));
        Assert.Equal(0, navigations); // checked by htmx, the page stayed
        await DashboardStack.ScreenshotAsync(page, "schedules-new");

        await page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/schedules/{name}\\?saved=created$"));
        await Expect(page.Locator("#schedule-result")).ToHaveTextAsync($"Created '{name}'.");
        var stored = await stack.Http.GetScheduleAsync(name);
        Assert.Equal(("demo.echo", "0 30 4 * * ?", "Europe/Paris", "api"), (stored.Task, stored.Cron, stored.TimeZone, stored.Source));
        Assert.Equal("made in the form", stored.Args!.Value.GetProperty("message").GetString());
        Assert.Equal(shown, stored.NextFireTimes); // Quartz's own times, as the API reports them
        Assert.Equal(shown, await TimesAsync(page.Locator("#next-fires time")));
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task Bad_args_are_refused_naming_the_field_and_nothing_is_stored()
    {
        var name = NewName("refused");
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/schedules");
        await page.GetByText("New schedule").ClickAsync();
        await page.Locator("#name").FillAsync(name);
        await page.Locator("#task").SelectOptionAsync("demo.echo");
        await page.Locator("#cron").FillAsync("0 0 4 * * ?");

        // Args that don't fit the contract: the validator's answer, under the field.
        await page.Locator("#args").FillAsync("""{"message": 5}""");
        var response = await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync(),
            r => r.Request.Method == "POST");
        Assert.Equal(400, response.Status);
        await Expect(page.Locator("#form-errors")).ToContainTextAsync("nothing was saved: args.message");
        await Expect(page.Locator("#err-args")).ToContainTextAsync("args.message:");
        await Expect(page.Locator("#args")).ToHaveAttributeAsync("aria-invalid", "true");
        await Expect(page.Locator("#name")).ToHaveValueAsync(name); // what was typed stays
        await DashboardStack.ScreenshotAsync(page, "schedules-new-refused");

        // Args that aren't JSON at all.
        await page.Locator("#args").FillAsync("{oops");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create schedule" }).ClickAsync();
        await Expect(page.Locator("#err-args")).ToContainTextAsync("args is not JSON");

        using var get = await stack.Http.GetAsync($"/api/v1/schedules/{name}");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task An_admin_edits_a_schedules_cron_and_deletes_it_after_confirming_with_markup_shown_as_text()
    {
        var name = NewName("edited");
        const string payload = DashboardStack.Markup;
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", args = new { message = payload }, cron = "0 0 4 * * ?", description = payload });
        var page = await stack.Admin.NewPageAsync();
        var dialogs = DashboardStack.DismissDialogs(page);
        await page.GotoAsync("/schedules");
        await page.GetByRole(AriaRole.Link, new() { Name = name, Exact = true }).ClickAsync();
        await Expect(page).ToHaveURLAsync(new Regex($"/schedules/{name}$"));
        await Expect(page.Locator(".facts .description")).ToHaveTextAsync(payload);
        await Expect(page.Locator("#description")).ToHaveValueAsync(payload);
        var args = await page.Locator("#args").InputValueAsync(); // as typed: no \u003C escapes
        Assert.Contains("<script>", args, StringComparison.Ordinal);
        Assert.Equal(payload, System.Text.Json.JsonDocument.Parse(args).RootElement.GetProperty("message").GetString());
        await Expect(page.Locator("main img")).ToHaveCountAsync(0);
        await Expect(page.Locator("#cron")).ToHaveValueAsync("0 0 4 * * ?");

        await page.Locator("#cron").FillAsync("0 15 6 * * ?");
        await Expect(page.Locator("#cron-preview li").First).ToContainTextAsync("06:15:00 (+00:00)");
        await DashboardStack.ScreenshotAsync(page, "schedule");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.Locator("#schedule-result")).ToHaveTextAsync($"Saved '{name}'.");
        var stored = await stack.Http.GetScheduleAsync(name);
        Assert.Equal(("0 15 6 * * ?", payload), (stored.Cron, stored.Description));

        // Delete asks first (a page of its own: no script), by keyboard.
        await page.GetByRole(AriaRole.Link, new() { Name = "Delete this schedule…" }).ClickAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = $"Delete {name}" })).ToBeFocusedAsync();
        Assert.Equal(HttpStatusCode.OK, (await stack.Http.GetAsync($"/api/v1/schedules/{name}")).StatusCode);
        await page.Keyboard.PressAsync("Enter");
        await Expect(page).ToHaveURLAsync(new Regex("/schedules\\?deleted="));
        await Expect(page.Locator("#schedule-deleted")).ToHaveTextAsync($"Deleted '{name}'.");
        Assert.Equal(HttpStatusCode.NotFound, (await stack.Http.GetAsync($"/api/v1/schedules/{name}")).StatusCode);
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task A_masked_secret_left_as_shown_keeps_its_stored_value_when_the_cron_is_edited()
    {
        var name = NewName("secret");
        await stack.Http.CreateScheduleAsync(new { name, task = "test.secret", args = new { user = "u", password = "hunter2" }, cron = "0 0 4 * * ?" });
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync($"/schedules/{name}");
        Assert.Contains("\"password\":\"***\"", await page.Locator("#args").InputValueAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", await page.ContentAsync(), StringComparison.Ordinal);
        await page.Locator("#cron").FillAsync("0 0 5 * * ?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save changes" }).ClickAsync();
        await Expect(page.Locator("#schedule-result")).ToHaveTextAsync($"Saved '{name}'.");

        // What a fire enqueues now: the stored password, not the mask.
        using (var fired = await stack.Http.PostAsync($"/api/v1/schedules/{name}/trigger", null)) fired.EnsureSuccessStatusCode();
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand("SELECT args::text FROM tasks WHERE schedule_name = $1");
        cmd.Parameters.Add(new Npgsql.NpgsqlParameter { Value = name });
        var args = System.Text.Json.JsonDocument.Parse((string)(await cmd.ExecuteScalarAsync())!).RootElement;
        Assert.Equal(("u", "hunter2"), (args.GetProperty("user").GetString(), args.GetProperty("password").GetString()));
        Assert.Equal("0 0 5 * * ?", (await stack.Http.GetScheduleAsync(name)).Cron);
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task A_config_schedule_shows_why_it_cant_be_edited_and_a_save_or_delete_is_409()
    {
        var name = Stack.ConfigSchedule;
        Assert.Equal("config", (await stack.Http.GetScheduleAsync(name)).Source);
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync($"/schedules/{name}");
        await Expect(page.Locator("#config-only")).ToContainTextAsync($"Schedule '{name}' comes from configuration (source: config)");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Save changes" })).ToHaveCountAsync(0);
        await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Delete this schedule…" })).ToHaveCountAsync(0);

        // Posted anyway (the form's fields, the page's token): the API's 409, nothing changed.
        var token = await TokenAsync(page);
        var save = await stack.Admin.APIRequest.PostAsync($"/schedules/{name}?handler=Save", new()
        {
            Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = token },
            Form = Form(stack.Admin, ("task", "demo.echo"), ("cron", "0 0 6 * * ?")),
        });
        Assert.Equal(409, save.Status);
        Assert.Contains("comes from configuration", await save.TextAsync(), StringComparison.Ordinal);
        var delete = await stack.Admin.APIRequest.PostAsync($"/schedules/{name}?handler=Delete", new() { Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = token } });
        Assert.Equal(409, delete.Status);
        Assert.Equal("0 0 5 * * ?", (await stack.Http.GetScheduleAsync(name)).Cron);
    }

    [Fact]
    public async Task A_schedules_recent_fires_show_as_they_happen_linked_to_their_tasks()
    {
        var name = NewName("fires");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", args = new { message = "every second" }, intervalSeconds = 1 });
        try
        {
            var page = await stack.Admin.NewPageAsync();
            await page.GotoAsync($"/schedules/{name}");
            var navigations = 0;
            page.FrameNavigated += (_, frame) => { if (frame == page.MainFrame) navigations++; };
            var seen = (await stack.FiresAsync(name)).Count;
            var fires = await stack.WaitForFiresAsync(name, f => f.Count >= seen + 2);

            // The page's rows are the API's /fires: same tasks, same times, the state as it was read.
            var latest = fires[^1];
            var row = page.Locator("#fires tr").Filter(new() { Has = page.Locator($"a[href='/tasks/{latest.Id}']") });
            await Expect(row).ToHaveCountAsync(1, new() { Timeout = 15_000 });
            Assert.Equal(0, navigations); // htmx brought the new rows in
            var api = await stack.Http.GetFromJsonAsync<ListOf<ScheduleFireView>>($"/api/v1/schedules/{name}/fires?limit=20", ApiExtensions.Json);
            var fromApi = Assert.Single(api!.Items, f => f.TaskId == latest.Id);
            Assert.Equal(fromApi.FireTime.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
                await row.Locator("time").GetAttributeAsync("datetime"));
            await Expect(row.Locator("td[data-label='State']")).ToHaveTextAsync(new Regex("^(pending|running|succeeded)$"));
            await DashboardStack.ScreenshotAsync(page, "schedule-fires");
        }
        finally
        {
            await stack.Http.DeleteScheduleAsync(name);
        }
    }

    [Fact]
    public async Task A_viewer_sees_no_create_or_edit_and_a_create_or_save_post_is_403()
    {
        var name = NewName("viewed");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", cron = "0 0 4 * * ?" });
        var page = await stack.Viewer.NewPageAsync();
        await page.GotoAsync("/schedules");
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = name })).ToBeVisibleAsync();
        await Expect(page.GetByText("New schedule")).ToHaveCountAsync(0);
        await page.GotoAsync($"/schedules/{name}");
        await Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Recent fires" })).ToBeVisibleAsync();
        await Expect(page.Locator("form.schedule-form")).ToHaveCountAsync(0);
        await Expect(page.GetByText("Delete this schedule…")).ToHaveCountAsync(0);

        // With a valid anti-forgery token: refused for the role, not the token.
        var token = await TokenAsync(page);
        var created = NewName("forbidden");
        var create = await stack.Viewer.APIRequest.PostAsync("/schedules?handler=Create", new()
        {
            Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = token },
            Form = Form(stack.Viewer, ("name", created), ("task", "demo.echo"), ("cron", "0 0 4 * * ?")),
        });
        Assert.Equal(403, create.Status);
        var save = await stack.Viewer.APIRequest.PostAsync($"/schedules/{name}?handler=Save", new()
        {
            Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = token },
            Form = Form(stack.Viewer, ("task", "demo.echo"), ("cron", "0 0 6 * * ?")),
        });
        Assert.Equal(403, save.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await stack.Http.GetAsync($"/api/v1/schedules/{created}")).StatusCode);
        Assert.Equal("0 0 4 * * ?", (await stack.Http.GetScheduleAsync(name)).Cron);
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task The_list_page_takes_as_many_statements_for_twelve_schedules_as_for_two()
    {
        var prefix = NewName("count");
        for (var i = 0; i < 2; i++) await stack.Http.CreateScheduleAsync(new { name = $"{prefix}-{i:D2}", task = "demo.echo", cron = "0 0 3 * * ?" });
        using (var fired = await stack.Http.PostAsync($"/api/v1/schedules/{prefix}-00/trigger", null)) fired.EnsureSuccessStatusCode();
        await CountListStatementsAsync(); // the first call pays one-time reads: not what is counted
        var few = await CountListStatementsAsync();
        for (var i = 2; i < 12; i++) await stack.Http.CreateScheduleAsync(new { name = $"{prefix}-{i:D2}", task = "demo.echo", cron = "0 0 3 * * ?" });
        var many = await CountListStatementsAsync();
        Assert.Equal(few, many);

        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/schedules");
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = prefix })).ToHaveCountAsync(12);
        await Expect(page.GetByRole(AriaRole.Row).Filter(new() { HasText = $"{prefix}-00" }).Locator("td[data-label='Last task'] a")).ToHaveCountAsync(1);
        await DashboardStack.ScreenshotAsync(page, "schedules-list");
        for (var i = 0; i < 12; i++) await stack.Http.DeleteScheduleAsync($"{prefix}-{i:D2}");
    }

    private Task<int> CountListStatementsAsync() => Statements.CountAsync(async traceparent =>
    {
        var response = await stack.Admin.APIRequest.GetAsync("/schedules", new() { Headers = new Dictionary<string, string> { ["traceparent"] = traceparent } });
        Assert.Equal(200, response.Status);
    });

    private static async Task<List<DateTimeOffset>> TimesAsync(ILocator times) =>
        [.. (await times.EvaluateAllAsync<string[]>("ts => ts.map(t => t.getAttribute('datetime'))")).Select(t => DateTimeOffset.Parse(t, System.Globalization.CultureInfo.InvariantCulture))];

    private static IFormData Form(IBrowserContext context, params (string Name, string Value)[] fields)
    {
        var form = context.APIRequest.CreateFormData();
        foreach (var (field, value) in fields) form.Set(field, value);
        return form;
    }

    /// <summary>The anti-forgery token the layout gives htmx (in the body's hx-headers).</summary>
    private static async Task<string> TokenAsync(IPage page)
    {
        var headers = await page.Locator("body").GetAttributeAsync("hx-headers");
        return System.Text.Json.JsonDocument.Parse(headers!).RootElement.GetProperty("RequestVerificationToken").GetString()!;
    }

    private sealed record ListOf<T>(List<T> Items);
}
