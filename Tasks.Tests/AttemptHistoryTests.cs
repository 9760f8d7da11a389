using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Tasks.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Tasks.Tests;

/// <summary>
/// A task's attempt history (<c>GET /api/v1/tasks/{id}/attempts</c> and the Task page's table): each attempt's
/// worker, start, end and outcome, for retries, a worker killed mid-run, a cancel, and a deleted task.
/// </summary>
public sealed class AttemptHistoryTests(AttemptHistoryTests.Stack stack) : IClassFixture<AttemptHistoryTests.Stack>
{
    public sealed class Stack : DashboardStack
    {
        protected override Dictionary<string, string?> Settings => new(base.Settings)
        {
            ["Relay:PendingGraceSeconds"] = "1",
            ["Tasks:LeaseSeconds"] = "3", // a killed worker's task is taken over once its lease runs out
        };
    }

    private const string Xss = DashboardStack.Markup;

    [Fact]
    public async Task A_task_that_fails_twice_then_succeeds_shows_three_attempts()
    {
        var message = $"{Xss} {Guid.NewGuid():N}";
        var task = await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message, failTimes = 2 }, maxAttempts = 3, backoffSeconds = 0 });
        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");

        var attempts = await AttemptsAsync(task.Id);
        Assert.Equal([(1, "retried"), (2, "retried"), (3, "succeeded")], attempts.Select(a => (a.Attempt, a.Outcome)));
        Assert.All(attempts, a => Assert.Equal(done.Worker, a.Worker));
        Assert.All(attempts[..2], a => Assert.Equal($"DemoFailureException: {message}", a.Error));
        Assert.Null(attempts[2].Error);
        AssertOrdered(attempts);
        Assert.Equal(done.FinishedAt, attempts[2].EndedAt);

        var page = await stack.Admin.NewPageAsync();
        var dialogs = DashboardStack.DismissDialogs(page);
        await page.GotoAsync($"/tasks/{task.Id}");
        await Expect(Column(page, 6)).ToHaveTextAsync(["retried", "retried", "succeeded"]);
        await Expect(Column(page, 2)).ToHaveTextAsync([done.Worker!, done.Worker!, done.Worker!]);
        await Expect(Column(page, 7).First).ToHaveTextAsync($"DemoFailureException: {message}"); // shown as text
        await DashboardStack.ScreenshotAsync(page, "task-attempts");
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task A_worker_killed_mid_run_leaves_a_lost_attempt_before_the_one_that_succeeds()
    {
        var queue = "attempts-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.ProcessEnvironment(0);
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 3 }, queue });

        await using (var doomed = await HostProcess.StartAsync("Tasks.Worker", new Dictionary<string, string>(env) { ["Worker__Name"] = $"doomed-{queue}" }, "--queues", queue))
        {
            await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && t.Progress.Current >= 1);
            doomed.Kill(); // SIGKILL: nothing recorded by the worker; its lease runs out
            await doomed.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        await stack.Http.WaitForAsync(task.Id, t => t.State != "running"); // the relay released it (AttemptTakeOverTests: the claim)
        await using var survivor = await HostProcess.StartAsync("Tasks.Worker", new Dictionary<string, string>(env) { ["Worker__Name"] = $"survivor-{queue}" }, "--queues", queue);
        await stack.Http.WaitForStateAsync(task.Id, "succeeded", seconds: 30);

        var attempts = await AttemptsAsync(task.Id);
        Assert.Equal([(1, $"doomed-{queue}", "lost"), (2, $"survivor-{queue}", "succeeded")], attempts.Select(a => (a.Attempt, a.Worker, a.Outcome)));
        Assert.Contains("lease", attempts[0].Error, StringComparison.Ordinal);
        AssertOrdered(attempts);

        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync($"/tasks/{task.Id}");
        await Expect(Column(page, 6)).ToHaveTextAsync(["lost", "succeeded"]);
        await Expect(Column(page, 2)).ToHaveTextAsync([$"doomed-{queue}", $"survivor-{queue}"]);
    }

    [Fact]
    public async Task A_task_canceled_while_running_shows_the_running_attempt_then_the_canceled_one()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 30 } });
        var running = await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && t.Progress.Current >= 1);
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync($"/tasks/{task.Id}");
        await Expect(page.Locator("#attempts tbody tr.current")).ToContainTextAsync("running");
        Assert.Equal([(1, running.Worker, "running", false)], (await AttemptsAsync(task.Id)).Select(a => (a.Attempt, a.Worker, a.Outcome, a.EndedAt.HasValue)));

        using (var cancel = await stack.Http.PostAsync($"/api/v1/tasks/{task.Id}/cancel", null))
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        await stack.Http.WaitForStateAsync(task.Id, "canceled");

        var canceled = Assert.Single(await AttemptsAsync(task.Id));
        Assert.Equal((1, running.Worker, "canceled"), (canceled.Attempt, canceled.Worker, canceled.Outcome));
        AssertOrdered([canceled]);
        await Expect(Column(page, 6)).ToHaveTextAsync(["canceled"]); // live: no reload
        await Expect(page.Locator("#attempts tbody tr.current")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Deleting_a_task_deletes_its_attempts()
    {
        var message = $"deleted {Guid.NewGuid():N}";
        var task = await stack.Http.EnqueueAsync(new { name = "demo.fail", args = new { message }, maxAttempts = 1 });
        await stack.Http.WaitForStateAsync(task.Id, "failed");
        Assert.Equal("failed", Assert.Single(await AttemptsAsync(task.Id)).Outcome);
        Assert.Equal(1, await stack.CountAsync("task_attempts WHERE task_id = $1", task.Id));

        using (var deleted = await stack.Http.PostJsonAsync("/api/v1/tasks/bulk/delete",
                   new { state = "failed", name = "demo.fail", error = $"DemoFailureException: {message}" }))
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);

        Assert.Equal(0, await stack.CountAsync("task_attempts WHERE task_id = $1", task.Id));
        using var gone = await stack.Http.GetAsync($"/api/v1/tasks/{task.Id}/attempts");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    private static ILocator Column(IPage page, int n) => page.Locator($"#attempts tbody tr td:nth-child({n})");

    private static void AssertOrdered(IReadOnlyList<AttemptView> attempts)
    {
        for (var i = 0; i < attempts.Count; i++)
        {
            Assert.NotNull(attempts[i].StartedAt);
            Assert.True(attempts[i].EndedAt >= attempts[i].StartedAt, $"attempt {attempts[i].Attempt} ends before it starts");
            if (i > 0) Assert.True(attempts[i].StartedAt >= attempts[i - 1].EndedAt, $"attempt {attempts[i].Attempt} starts before the one before ends");
        }
    }

    private async Task<List<AttemptView>> AttemptsAsync(Guid id)
    {
        var history = await stack.Http.GetFromJsonAsync<AttemptsView>($"/api/v1/tasks/{id}/attempts", ApiExtensions.Json, TestContext.Current.CancellationToken);
        Assert.Equal(id, history!.TaskId);
        return history.Attempts;
    }

    private sealed record AttemptsView(Guid TaskId, List<AttemptView> Attempts);

    private sealed record AttemptView(int Attempt, string? Worker, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, string Outcome, string? Error);
}

/// <summary>
/// Without a relay, a killed worker's task is taken over by its message's redelivery once the lease has run out:
/// the claim records the lost attempt.
/// </summary>
public sealed class AttemptTakeOverTests(AttemptTakeOverTests.Stack stack) : IClassFixture<AttemptTakeOverTests.Stack>
{
    public sealed class Stack : TasksStack
    {
        protected override bool StartScheduler => false;
        protected override Dictionary<string, string?> Settings => new(base.Settings) { ["Tasks:LeaseSeconds"] = "2" };
    }

    [Fact]
    public async Task A_task_taken_over_at_its_claim_shows_the_lost_attempt()
    {
        var queue = "takeover-" + Guid.NewGuid().ToString("N")[..8];
        var env = stack.ProcessEnvironment(0);
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 2 }, queue });

        await using (var doomed = await HostProcess.StartAsync("Tasks.Worker", new Dictionary<string, string>(env) { ["Worker__Name"] = $"doomed-{queue}" }, "--queues", queue))
        {
            await stack.Http.WaitForAsync(task.Id, t => t.State == "running" && t.Progress.Current >= 1);
            doomed.Kill();
            await doomed.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        // Past the lease, on the database's clock: the redelivered message may take the task over.
        while (await stack.CountAsync("tasks WHERE id = $1 AND heartbeat_at < now() - interval '2 seconds'", task.Id) == 0)
            await Task.Delay(200, TestContext.Current.CancellationToken);
        await using var survivor = await HostProcess.StartAsync("Tasks.Worker", new Dictionary<string, string>(env) { ["Worker__Name"] = $"survivor-{queue}" }, "--queues", queue);
        await stack.Http.WaitForStateAsync(task.Id, "succeeded", seconds: 30);

        var history = await stack.Http.GetFromJsonAsync<JsonElement>($"/api/v1/tasks/{task.Id}/attempts", TestContext.Current.CancellationToken);
        Assert.Equal([(1, $"doomed-{queue}", "lost"), (2, $"survivor-{queue}", "succeeded")],
            history.GetProperty("attempts").EnumerateArray().Select(a =>
                (a.GetProperty("attempt").GetInt32(), a.GetProperty("worker").GetString(), a.GetProperty("outcome").GetString())));
    }
}
