using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Tasks.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Tasks.Tests;

/// <summary>
/// The task pages in a real browser: /tasks/{id} with its live progress bar, cancel and retry; /tasks with its
/// filters and a bulk retry confirmed by its count; /failed with its groups; and user text that stays text.
/// </summary>
public sealed class TaskPagesTests(DashboardStack stack) : IClassFixture<DashboardStack>
{
    private const string Xss = DashboardStack.Markup;

    [Fact]
    public async Task The_progress_bar_of_a_running_task_moves_and_cancel_stops_it()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 30 } });
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync($"/tasks/{task.Id}");

        var bar = page.Locator("#task-progress");
        await Expect(bar).ToHaveAttributeAsync("value", new Regex("^[1-9]"), new() { Timeout = 15_000 });
        var first = int.Parse((await bar.GetAttributeAsync("value"))!, System.Globalization.CultureInfo.InvariantCulture);
        await Expect(bar).Not.ToHaveAttributeAsync("value", first.ToString(System.Globalization.CultureInfo.InvariantCulture), new() { Timeout = 15_000 });
        await DashboardStack.ScreenshotAsync(page, "task-running");

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();
        await Expect(page.Locator("#action-result")).ToContainTextAsync("Cancel requested");
        await Expect(page.Locator("#task-state")).ToHaveTextAsync("canceled", new() { Timeout = 15_000 });
        Assert.Equal("canceled", (await stack.Http.GetTaskAsync(task.Id)).State);
    }

    [Fact]
    public async Task A_failed_task_is_retried_from_its_page_and_runs_again()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message = "once, then fine", failTimes = 1 }, maxAttempts = 1 });
        await stack.Http.WaitForStateAsync(task.Id, "failed");
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync($"/tasks/{task.Id}");
        await Expect(page.Locator("#stack-trace")).ToContainTextAsync("DemoFailureException");
        await DashboardStack.ScreenshotAsync(page, "task-failed");

        await page.GetByRole(AriaRole.Button, new() { Name = "Retry" }).ClickAsync();
        await Expect(page.Locator("#action-result")).ToContainTextAsync("Retried");
        await Expect(page.Locator("#task-state")).ToHaveTextAsync("succeeded", new() { Timeout = 15_000 });
        Assert.Equal(2, (await stack.Http.GetTaskAsync(task.Id)).Attempts);
    }

    [Fact]
    public async Task Bulk_retry_of_a_names_failed_tasks_says_how_many_then_retries_them()
    {
        var message = $"bulk page {Guid.NewGuid():N}";
        var ids = new List<Guid>();
        for (var i = 0; i < 2; i++)
            ids.Add((await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message, failTimes = 1 }, maxAttempts = 1 })).Id);
        foreach (var id in ids) await stack.Http.WaitForStateAsync(id, "failed");

        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync($"/tasks?state=failed&name=demo.fail&error={Uri.EscapeDataString("DemoFailureException: " + message)}");
        await Expect(page.Locator("table.tasks tbody tr")).ToHaveCountAsync(2);
        await DashboardStack.ScreenshotAsync(page, "tasks");
        await page.GetByLabel("On every task of this filter").SelectOptionAsync("Retry");
        await page.GetByRole(AriaRole.Button, new() { Name = "Count…" }).ClickAsync();
        await Expect(page.Locator("#bulk-count")).ToHaveTextAsync("2");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, retry 2" }).ClickAsync();
        await Expect(page.Locator("#bulk-done")).ToHaveTextAsync("Retried 2 task(s).");
        foreach (var id in ids) await stack.Http.WaitForStateAsync(id, "succeeded");
    }

    [Fact]
    public async Task The_failed_view_groups_by_name_and_error_and_retries_a_group()
    {
        var message = $"group {Guid.NewGuid():N}";
        var ids = new List<Guid>();
        for (var i = 0; i < 3; i++)
            ids.Add((await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message, failTimes = 1 }, maxAttempts = 1 })).Id);
        foreach (var id in ids) await stack.Http.WaitForStateAsync(id, "failed");

        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/failed");
        var row = page.Locator("table.failed tbody tr", new() { HasText = message });
        await Expect(row.Locator("td.num")).ToHaveTextAsync("3");
        await DashboardStack.ScreenshotAsync(page, "failed");
        await row.GetByRole(AriaRole.Button, new() { Name = "Retry all 3" }).ClickAsync();
        await Expect(page.Locator("#failed-done")).ToHaveTextAsync("Retried 3 failed task(s) of demo.fail.");
        foreach (var id in ids) await stack.Http.WaitForStateAsync(id, "succeeded");
    }

    [Fact]
    public async Task Script_in_args_and_errors_shows_as_text_and_runs_nothing()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message = Xss }, maxAttempts = 1 });
        await stack.Http.WaitForStateAsync(task.Id, "failed");
        var page = await stack.Admin.NewPageAsync();
        var dialogs = DashboardStack.DismissDialogs(page);

        await page.GotoAsync($"/tasks/{task.Id}");
        await Expect(page.Locator("#error")).ToContainTextAsync(Xss);
        await Expect(page.Locator("#args")).ToContainTextAsync("<script>alert(1)</script>");
        foreach (var path in new[] { $"/tasks?name=demo.fail&error={Uri.EscapeDataString("DemoFailureException: " + Xss)}", "/failed" })
        {
            await page.GotoAsync(path);
            await Expect(page.Locator("main")).ToContainTextAsync(Xss);
        }
        await Expect(page.Locator("table.failed tbody tr", new() { HasText = Xss })).ToHaveCountAsync(1);
        Assert.Equal(0, await page.Locator("main img, main script").CountAsync());
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task A_viewer_sees_no_actions_and_cannot_post_one()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "look" }, queue = $"q{Guid.NewGuid():N}"[..20] });
        var page = await stack.Viewer.NewPageAsync();
        await page.GotoAsync($"/tasks/{task.Id}");
        await Expect(page.Locator("#task-state")).ToBeVisibleAsync();
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).CountAsync());
        await page.GotoAsync("/tasks");
        Assert.Equal(0, await page.Locator("section.bulk").CountAsync());

        // The admin's button, posted with the viewer's session and a valid token: refused.
        var token = await page.Locator("input[name=__RequestVerificationToken]").First.GetAttributeAsync("value");
        var response = await page.APIRequest.PostAsync($"/tasks/{task.Id}?handler=Cancel",
            new() { Form = page.APIRequest.CreateFormData().Set("__RequestVerificationToken", token ?? "") });
        Assert.Equal(403, response.Status);
        Assert.NotEqual("canceled", (await stack.Http.GetTaskAsync(task.Id)).State);
    }
}
