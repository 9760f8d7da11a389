using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// A <see cref="TasksStack"/> with the dashboard's users and a real headless Chromium (Debian's <c>chromium</c>,
/// driven by Playwright): <see cref="Admin"/> and <see cref="Viewer"/> are browser contexts signed in through
/// /login, <see cref="NewContextAsync"/> a signed-out one. Dashboard test classes take it as their class fixture.
/// </summary>
public class DashboardStack : TasksStack
{
    /// <summary>Every dashboard page: each must send a signed-out browser to /login. Add yours here.</summary>
    public static readonly string[] Pages = ["/", "/schedules", "/tasks", "/failed", "/workers", "/queues"];

    public const string AdminPassword = "admin-password-for-tests";
    public const string ViewerName = "viewer";
    public const string ViewerPassword = "viewer-password-for-tests";
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;
    public IBrowserContext Admin { get; private set; } = null!;
    public IBrowserContext Viewer { get; private set; } = null!;

    protected override Dictionary<string, string?> Settings => new(base.Settings)
    {
        ["Auth:AdminPassword"] = AdminPassword,
        ["Dashboard:RefreshSeconds"] = "1",
        ["Dashboard:SignInFailuresPerUser"] = "3",
        ["Dashboard:SignInFailuresPerAddress"] = "1000",
    };

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        await CreateUserAsync(ViewerName, "viewer", ViewerPassword);
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Args = ["--no-sandbox", "--disable-gpu"],
            Headless = true,
        });
        Admin = await SignedInAsync("admin", AdminPassword);
        Viewer = await SignedInAsync(ViewerName, ViewerPassword);
    }

    /// <summary>A user made through <c>POST /api/v1/users</c> with the stack's admin key.</summary>
    public async Task CreateUserAsync(string name, string role, string password)
    {
        using var created = await Http.PostAsJsonAsync("/api/v1/users", new { name, role, password });
        created.EnsureSuccessStatusCode();
    }

    /// <summary>A fresh browser context (no cookies) on the stack's web address, or <paramref name="address"/>.</summary>
    public Task<IBrowserContext> NewContextAsync(Uri? address = null) =>
        Browser.NewContextAsync(new() { BaseURL = (address ?? WebAddress).ToString().TrimEnd('/'), ViewportSize = Desktop });

    /// <summary>A context signed in as <paramref name="name"/> through the /login form.</summary>
    public async Task<IBrowserContext> SignedInAsync(string name, string password, Uri? address = null)
    {
        var context = await NewContextAsync(address);
        var page = await context.NewPageAsync();
        await SignInAsync(page, name, password);
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/$"));
        await page.CloseAsync();
        return context;
    }

    /// <summary>Fills and posts /login; the answer to the post (a redirect when it worked).</summary>
    public static async Task<IResponse> SignInAsync(IPage page, string name, string password)
    {
        if (!page.Url.Contains("/login", StringComparison.Ordinal)) await page.GotoAsync("/login");
        await page.GetByLabel("User name").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(password);
        return await page.RunAndWaitForResponseAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync(),
            r => r.Request.Method == "POST" && r.Url.Contains("/login", StringComparison.Ordinal));
    }

    /// <summary>Markup a page must show as text: a script element, and an attribute break-out into an img with a handler.</summary>
    public const string Markup = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>";

    /// <summary>Dismisses every dialog <paramref name="page"/> opens and keeps its message: markup that ran would open one.</summary>
    public static List<string> DismissDialogs(IPage page)
    {
        var opened = new List<string>();
        page.Dialog += (_, dialog) => { opened.Add(dialog.Message); _ = dialog.DismissAsync(); };
        return opened;
    }

    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 800 };
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    /// <summary>Full-page screenshots of <paramref name="page"/> at desktop and phone width (and phone in dark mode), under artifacts/screenshots/.</summary>
    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var dir = Path.Combine(HostProcess.RepositoryRoot(), "artifacts", "screenshots");
        Directory.CreateDirectory(dir);
        var before = page.ViewportSize;
        foreach (var (size, suffix) in new[] { (Desktop, "desktop"), (Phone, "phone") })
        {
            await page.SetViewportSizeAsync(size.Width, size.Height);
            await page.ScreenshotAsync(new() { Path = Path.Combine(dir, $"{name}-{suffix}.png"), FullPage = true });
        }
        // The same at phone width in dark mode (prefers-color-scheme), to see that it stays readable.
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Dark });
        await page.ScreenshotAsync(new() { Path = Path.Combine(dir, $"{name}-phone-dark.png"), FullPage = true });
        await page.EmulateMediaAsync(new() { ColorScheme = ColorScheme.Null });
        if (before is not null) await page.SetViewportSizeAsync(before.Width, before.Height);
    }

    public override async ValueTask DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        _playwright?.Dispose();
        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
