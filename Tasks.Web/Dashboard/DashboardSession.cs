using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Web.Dashboard;

/// <summary>
/// The dashboard's cookie session: it holds only the user's id, name, role and security stamp, and each request
/// checks the stamp and role against the user's row (one primary-key read), so a changed password or role, or a
/// deleted user, ends the session at once on every instance. See docs/design.md, "Dashboard sign-in".
/// </summary>
public sealed class DashboardSession : CookieAuthenticationEvents
{
    public const string Scheme = "Dashboard";
    public const string StampClaim = "stamp";

    public static ClaimsPrincipal Principal(UserInfo user) => new(new ClaimsIdentity(
        [
            new Claim(ClaimTypes.NameIdentifier, user.Id.ToString()),
            new Claim(ClaimTypes.Name, user.Name),
            new Claim(ClaimTypes.Role, UserRoles.NameOf(user.Role)),
            new Claim(StampClaim, user.SecurityStamp),
        ], Scheme, ClaimTypes.Name, ClaimTypes.Role));

    public static bool CanAct(ClaimsPrincipal user) => user.IsInRole(UserRoles.Admin);

    public override async Task ValidatePrincipal(CookieValidatePrincipalContext context)
    {
        var principal = context.Principal!;
        SessionCheck? current = null;
        if (Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var id))
            current = await Users.SessionAsync(context.HttpContext.RequestServices.GetRequiredService<TasksDbContext>(), id, context.HttpContext.RequestAborted);
        if (current is null
            || current.SecurityStamp != principal.FindFirstValue(StampClaim)
            || UserRoles.NameOf(current.Role) != principal.FindFirstValue(ClaimTypes.Role))
        {
            context.RejectPrincipal();
            await context.HttpContext.SignOutAsync(Scheme);
        }
    }

    /// <summary>A page opened in the browser goes to /login; anything else (htmx, fetch, a form post) gets a bare 401.</summary>
    public override Task RedirectToLogin(RedirectContext<CookieAuthenticationOptions> context)
    {
        if (IsNavigation(context.Request))
        {
            context.Response.Redirect(context.RedirectUri);
        }
        else
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            // htmx follows this to the sign-in page instead of swapping in nothing.
            if (context.Request.Headers.ContainsKey("HX-Request")) context.Response.Headers["HX-Redirect"] = context.Options.LoginPath.Value;
        }
        return Task.CompletedTask;
    }

    public override Task RedirectToAccessDenied(RedirectContext<CookieAuthenticationOptions> context)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    private static bool IsNavigation(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && !request.Headers.ContainsKey("HX-Request")
        && request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
