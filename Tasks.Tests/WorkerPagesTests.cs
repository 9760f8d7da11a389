using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Playwright;
using Tasks.Core.Monitoring;
using Tasks.Tests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace Tasks.Tests;

/// <summary>
/// /workers and /queues in a real browser, with workers run as their own processes (a heartbeat a second) and a
/// camera taking a snapshot a second through a proxy in front of RabbitMQ's management API that a test can stop.
/// </summary>
public sealed class WorkerPagesTests(WorkerPagesTests.Stack stack) : IClassFixture<WorkerPagesTests.Stack>
{
    public sealed class Stack : DashboardStack
    {
        private TcpProxy? _management;

        protected override bool StartWorker => false;

        protected override Dictionary<string, string?> Settings => new(base.Settings)
        {
            ["Monitor:SnapshotSeconds"] = "1",
            ["RabbitMq:ManagementUrl"] = new UriBuilder(Servers.Management) { Port = Management.Port }.Uri.ToString(),
        };

        /// <summary>The scheduler's way to the management API.</summary>
        public TcpProxy Management => _management ??= new TcpProxy(Servers.Management.Port);

        /// <summary>Another web host of the stack, on the broker at <paramref name="rabbit"/>.</summary>
        public async Task<Microsoft.AspNetCore.Builder.WebApplication> StartWebAsync(Uri rabbit)
        {
            var web = BuildWeb(Settings, rabbit.ToString());
            await web.StartAsync();
            return web;
        }

        public override async ValueTask DisposeAsync()
        {
            await base.DisposeAsync();
            if (_management is not null) await _management.DisposeAsync();
        }
    }

    private const int Wait = 20_000;

    [Fact]
    public async Task A_running_worker_shows_online_with_its_task_a_viewer_cannot_act_and_a_killed_one_goes_offline()
    {
        // A name with markup: it must show as text, and run nothing.
        var (name, queue) = ($"<img src=x onerror=alert(1)>w-{Guid.NewGuid():N}"[..40], Unique("q"));
        await using var worker = await StartWorkerAsync(name, queue);
        var task = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 30 }, queue });
        await stack.Http.WaitForStateAsync(task.Id, "running");

        var page = await stack.Admin.NewPageAsync();
        var dialogs = DashboardStack.DismissDialogs(page);
        await page.GotoAsync("/workers");
        var row = Row(page, name);
        await Expect(row.Locator(".worker-name")).ToHaveTextAsync(name);
        await Expect(row.Locator(".worker-state")).ToHaveTextAsync("online");
        await Expect(row.Locator($"li[data-queue='{queue}']")).ToContainTextAsync("concurrency");
        await Expect(row.Locator($"a[href='/tasks/{task.Id}']")).ToBeVisibleAsync(new() { Timeout = Wait });
        await Expect(row.GetByRole(AriaRole.Button, new() { Name = $"Shut down {name}" })).ToBeVisibleAsync();
        await DashboardStack.ScreenshotAsync(page, "workers");

        var viewer = await stack.Viewer.NewPageAsync();
        await viewer.GotoAsync("/workers");
        await Expect(Row(viewer, name).Locator(".worker-state")).ToHaveTextAsync("online");
        Assert.Equal(0, await viewer.Locator("main button").CountAsync());
        // The admin's buttons, posted with the viewer's session and a valid token: refused, and nothing sent.
        var token = await TokenAsync(viewer);
        foreach (var handler in new[] { "Ping", $"Shutdown&name={Uri.EscapeDataString(name)}", $"Pause&name={Uri.EscapeDataString(name)}&queue={queue}" })
        {
            var refused = await viewer.APIRequest.PostAsync($"/workers?handler={handler}",
                new() { Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = token } });
            Assert.Equal(403, refused.Status);
        }

        worker.Kill();
        await Expect(row.Locator(".worker-state")).ToHaveTextAsync("offline", new() { Timeout = Wait }); // the page polls
        Assert.Equal(0, await page.Locator("main img").CountAsync());
        Assert.Equal(0, await row.GetByRole(AriaRole.Button).CountAsync()); // an offline worker can't be told anything
        Assert.Empty(dialogs);
    }

    [Fact]
    public async Task An_admin_pings_pauses_and_resumes_a_queue_and_shuts_a_worker_down()
    {
        var (name, queue) = (Unique("w"), Unique("q"));
        await using var worker = await StartWorkerAsync(name, queue);
        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/workers");
        var row = Row(page, name);
        await Expect(row.Locator(".worker-state")).ToHaveTextAsync("online", new() { Timeout = Wait });

        // A worker starved by a loaded machine may miss the ping's 2 s ("No worker answered"): ask again, as an admin would.
        for (var tries = 1; ; tries++)
        {
            await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Ping all workers" }).ClickAsync(),
                r => r.Request.Method == "POST");
            await Expect(page.Locator("#flash #worker-flash")).ToContainTextAsync("answered the ping", new() { Timeout = Wait });
            if (await page.Locator("#ping-answers").CountAsync() > 0 || tries == 5) break;
        }
        await Expect(page.Locator("#ping-answers")).ToContainTextAsync(new Regex($"{name} in [0-9.]+ ms"));

        await row.GetByRole(AriaRole.Button, new() { Name = $"Pause queue {queue} on {name}" }).ClickAsync();
        await Expect(page.Locator("#worker-flash")).ToHaveTextAsync(new Regex($"Worker '{name}' paused queue '{queue}' \\([0-9.]+ ms\\)\\."));
        await Expect(row.Locator($"li[data-queue='{queue}'] .paused")).ToHaveTextAsync("paused", new() { Timeout = Wait });
        Assert.True(await PausedInHeartbeatAsync(name, queue));
        var queues = await stack.Admin.NewPageAsync();
        await queues.GotoAsync("/queues");
        await Expect(queues.Locator($"tr[data-queue='{queue}'] .paused-by")).ToContainTextAsync($"paused by {name}", new() { Timeout = Wait });

        await row.GetByRole(AriaRole.Button, new() { Name = $"Resume queue {queue} on {name}" }).ClickAsync();
        await Expect(page.Locator("#worker-flash")).ToContainTextAsync($"resumed queue '{queue}'");
        await Expect(row.Locator($"li[data-queue='{queue}'] .paused")).ToHaveCountAsync(0, new() { Timeout = Wait });
        Assert.False(await PausedInHeartbeatAsync(name, queue));

        // Without JavaScript the form posts no confirmation: the page asks instead, and the worker runs on.
        var plain = await page.APIRequest.PostAsync($"/workers?handler=Shutdown&name={name}", new()
        {
            Headers = new Dictionary<string, string> { ["RequestVerificationToken"] = await TokenAsync(page) },
        });
        var asks = await plain.TextAsync();
        Assert.Equal(200, plain.Status);
        Assert.Contains($"Shut down worker <strong>{name}</strong>?", asks);
        Assert.Contains("<input type=\"hidden\" name=\"confirmed\" value=\"true\">", asks);

        string? asked = null;
        page.Dialog += (_, dialog) => { asked = dialog.Message; _ = dialog.AcceptAsync(); };
        await row.GetByRole(AriaRole.Button, new() { Name = $"Shut down {name}" }).ClickAsync();
        await Expect(page.Locator("#worker-flash")).ToContainTextAsync($"Worker '{name}' is shutting down");
        Assert.Contains($"Shut down worker '{name}'?", asked);
        await Expect(row.Locator(".worker-state")).ToHaveTextAsync("stopped", new() { Timeout = Wait });
        await worker.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, worker.ExitCode);

        // A worker that is gone answers nothing: a flash says so, not an error page.
        var gone = await page.APIRequest.PostAsync($"/workers?handler=Shutdown&name={name}&confirmed=true", new()
        {
            Headers = new Dictionary<string, string> { ["HX-Request"] = "true", ["RequestVerificationToken"] = await TokenAsync(page) },
        });
        Assert.Equal(200, gone.Status);
        Assert.Contains("answered within", await gone.TextAsync());
    }

    [Fact]
    public async Task The_queues_page_shows_depth_and_consumers_and_the_no_consumer_alert()
    {
        var (name, queue) = (Unique("w"), Unique("q"));
        // One slot, a prefetch of one: one message unacked (running, or held for the slot), the others ready.
        await using var worker = await StartWorkerAsync(name, queue, ("Worker__Concurrency", "1"), ("Worker__Prefetch", "1"));
        var first = await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 30 }, queue });
        await stack.Http.WaitForStateAsync(first.Id, "running");
        for (var i = 0; i < 2; i++) await stack.Http.EnqueueAsync(new { name = "demo.sleep", args = new { seconds = 30 }, queue });
        // A queue nobody consumes, with a name no queue of ours could have.
        var orphan = $"<i>orphan</i>-{Guid.NewGuid():N}"[..24];
        await DeclareAndPublishAsync(orphan, 2);

        var page = await stack.Admin.NewPageAsync();
        await page.GotoAsync("/queues");
        var row = page.Locator($"tr[data-queue='{queue}']");
        await Expect(row.Locator(".consumers")).ToHaveTextAsync("1", new() { Timeout = Wait });
        await Expect(row.Locator(".depth")).ToHaveTextAsync(new Regex("^[12]$"), new() { Timeout = Wait });
        await Expect(row.Locator(".unacked")).ToHaveTextAsync("1", new() { Timeout = Wait });
        await Expect(row.Locator(".alert")).ToHaveTextAsync("none");

        var orphaned = page.Locator("tr.alerting", new() { HasText = orphan });
        await Expect(orphaned.Locator(".alert")).ToContainTextAsync("messages ready and no consumer", new() { Timeout = Wait });
        await Expect(orphaned.Locator(".queue-name")).ToHaveTextAsync(orphan);
        await Expect(orphaned.Locator(".consumers")).ToHaveTextAsync("0");
        Assert.Equal(0, await page.Locator("main i").CountAsync());
        await DashboardStack.ScreenshotAsync(page, "queues");
    }

    [Fact]
    public async Task The_queues_page_says_when_the_management_api_cannot_be_read()
    {
        var page = await stack.Viewer.NewPageAsync();
        await page.GotoAsync("/queues");
        var status = page.Locator("#queues-status");
        await Expect(status).ToContainTextAsync("As RabbitMQ's management API showed them", new() { Timeout = Wait });
        stack.Management.Stop();
        try
        {
            // Why, from the camera's alert: the address it tried, without the credentials it sent.
            await Expect(status).ToContainTextAsync("management API could not be read", new() { Timeout = Wait });
            await Expect(status).ToContainTextAsync($"127.0.0.1:{stack.Management.Port}/: ", new() { Timeout = Wait });
            Assert.DoesNotContain("guest", await status.TextContentAsync(), StringComparison.Ordinal);
            Assert.Equal(0, await page.Locator("tr[data-queue] .depth", new() { HasTextRegex = new Regex("[0-9]") }).CountAsync());
            Assert.Contains(AlertKinds.BrokerUnreadable, await ActiveAlertKindsAsync());
        }
        finally
        {
            stack.Management.Start();
        }
        await Expect(status).ToContainTextAsync("As RabbitMQ's management API showed them", new() { Timeout = Wait });
        Assert.DoesNotContain(AlertKinds.BrokerUnreadable, await ActiveAlertKindsAsync());
    }

    private async Task<List<string>> ActiveAlertKindsAsync() =>
        [.. (await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/alerts?active=true")).GetProperty("items").EnumerateArray()
            .Select(a => a.GetProperty("kind").GetString()!)];

    [Fact]
    public async Task Control_the_broker_does_not_take_is_a_503_and_a_flash_never_a_500()
    {
        await using var proxy = new TcpProxy(stack.Rabbit.Port);
        var web = await stack.StartWebAsync(new UriBuilder(stack.Rabbit) { Port = proxy.Port }.Uri);
        try
        {
            var address = new Uri(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
            using var http = new HttpClient { BaseAddress = address };
            http.DefaultRequestHeaders.Authorization = new("Bearer", stack.ApiKey);
            await using var admin = await stack.SignedInAsync("admin", DashboardStack.AdminPassword, address);
            var page = await admin.NewPageAsync();
            await page.GotoAsync("/workers");

            proxy.Stop(); // the broker is gone for this web host
            foreach (var path in new[] { "/api/v1/workers/ping?timeoutMs=1000", "/api/v1/workers/w/shutdown?timeoutMs=1000", "/api/v1/workers/w/queues/default/pause?timeoutMs=1000" })
            {
                using var response = await http.PostAsync(path, null);
                Assert.Contains("broker", (await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable)).GetProperty("detail").GetString());
            }
            await page.GetByRole(AriaRole.Button, new() { Name = "Ping all workers" }).ClickAsync();
            await Expect(page.Locator("#flash #worker-flash.error")).ToContainTextAsync("The broker did not take the ping command", new() { Timeout = Wait });
        }
        finally
        {
            proxy.Start(); // so the host stops cleanly
            await web.StopAsync(TimeSpan.FromSeconds(10));
            await web.DisposeAsync();
        }
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid().ToString("N")[..8]}";

    private static ILocator Row(IPage page, string worker) =>
        page.Locator("tr[data-worker]").Filter(new() { Has = page.Locator(".worker-name", new() { HasTextString = worker }) });

    private static Task<string> TokenAsync(IPage page) =>
        page.EvalOnSelectorAsync<string>("body", "b => JSON.parse(b.getAttribute('hx-headers')).RequestVerificationToken");

    private Task<HostProcess> StartWorkerAsync(string name, string queues, params (string Key, string Value)[] settings)
    {
        var env = stack.ProcessEnvironment(0);
        env["Worker__HeartbeatSeconds"] = "1";
        foreach (var (key, value) in settings) env[key] = value;
        return HostProcess.StartAsync("Tasks.Worker", env, "--queues", queues, "--name", name);
    }

    /// <summary>Whether the worker's heartbeat, as <c>/api/v1/workers/{name}</c> shows it, has the queue paused.</summary>
    private async Task<bool> PausedInHeartbeatAsync(string worker, string queue)
    {
        var w = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/workers/" + Uri.EscapeDataString(worker));
        return w.GetProperty("queues").EnumerateArray().Single(q => q.GetProperty("name").GetString() == queue).GetProperty("paused").GetBoolean();
    }

    /// <summary>A queue declared and filled through the management API, as a client other than ours would.</summary>
    private async Task DeclareAndPublishAsync(string queue, int messages)
    {
        using var http = stack.Servers.ManagementClient();
        var (vhost, name) = (Uri.EscapeDataString(stack.Name), Uri.EscapeDataString(queue));
        (await http.PutAsJsonAsync($"api/queues/{vhost}/{name}", new { durable = false, auto_delete = false })).EnsureSuccessStatusCode();
        for (var i = 0; i < messages; i++)
        {
            using var published = await http.PostAsJsonAsync($"api/exchanges/{vhost}/amq.default/publish",
                new { properties = new { }, routing_key = queue, payload = "x", payload_encoding = "string" });
            published.EnsureSuccessStatusCode();
            Assert.Contains("\"routed\":true", await published.Content.ReadAsStringAsync());
        }
    }
}
