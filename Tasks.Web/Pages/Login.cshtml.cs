using System.Globalization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tasks.Core.Auth;
using Tasks.Core.Data;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// Sign-in and sign-out. A wrong name and a wrong password look the same; failures are rate limited per user name
/// and per address (<see cref="SignInLimiter"/>) and logged with both, never with the password.
/// </summary>
public sealed partial class LoginModel(TasksDbContext db, SignInLimiter limiter, TimeProvider clock, ILogger<LoginModel> logger) : PageModel
{
    [BindProperty] public string? Username { get; set; }
    [BindProperty] public string? Password { get; set; }
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    public string? Error { get; private set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync(CancellationToken ct)
    {
        var name = Username?.Trim() ?? "";
        var address = HttpContext.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (name.Length == 0 || string.IsNullOrEmpty(Password)) return Refuse(StatusCodes.Status400BadRequest, "Enter your user name and password.");
        if (limiter.IsBlocked(name, address, out var retryAfter))
        {
            LogLimited(logger, name, address);
            var seconds = (int)Math.Ceiling(retryAfter.TotalSeconds);
            Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            return Refuse(StatusCodes.Status429TooManyRequests, $"Too many failed sign-ins. Try again in {seconds} s.");
        }
        if (await Users.VerifyAsync(db, name, Password, clock, ct) is not { } user)
        {
            limiter.Failed(name, address);
            LogFailed(logger, name, address);
            return Refuse(StatusCodes.Status401Unauthorized, "Wrong user name or password.");
        }
        await HttpContext.SignInAsync(DashboardSession.Scheme, DashboardSession.Principal(user));
        LogSignedIn(logger, user.Name, address);
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/");
    }

    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(DashboardSession.Scheme);
        return RedirectToPage();
    }

    private PageResult Refuse(int status, string error)
    {
        Response.StatusCode = status;
        Error = error;
        Password = null;
        return Page();
    }

    [LoggerMessage(LogLevel.Warning, "Dashboard sign-in failed for {User} from {Address}")]
    private static partial void LogFailed(ILogger logger, string user, string address);

    [LoggerMessage(LogLevel.Warning, "Dashboard sign-in refused for {User} from {Address}: too many failures")]
    private static partial void LogLimited(ILogger logger, string user, string address);

    [LoggerMessage(LogLevel.Information, "Dashboard sign-in: {User} from {Address}")]
    private static partial void LogSignedIn(ILogger logger, string user, string address);
}
