using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Web.Dashboard;

/// <summary>
/// The dashboard: Razor Pages behind a cookie sign-in (every page needs one, except /login), roles, anti-forgery,
/// the Data Protection key ring in PostgreSQL, and the short cache of the Overview. The JSON API stays on API keys.
/// </summary>
public static class DashboardExtensions
{
    public const string ViewPolicy = "dashboard";

    public static WebApplicationBuilder AddTasksDashboard(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DashboardOptions>().BindConfiguration(DashboardOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        // One key ring for every web instance, in the database: a cookie signed by one is read by all, and by the next.
        services.AddDataProtection().SetApplicationName("Tasks").PersistKeysToDbContext<TasksDbContext>();
        // Keys are stored as plain XML: the database's access control is what guards them (docs/design.md).
        const string keyManager = "Microsoft.AspNetCore.DataProtection.KeyManagement.XmlKeyManager";
        builder.Logging.AddFilter(keyManager, LogLevel.Error);
        builder.Configuration[$"Serilog:MinimumLevel:Override:{keyManager}"] ??= "Error"; // the hosts log through Serilog

        services.AddScoped<DashboardSession>();
        services.AddAuthentication().AddCookie(DashboardSession.Scheme, _ => { });
        services.AddOptions<CookieAuthenticationOptions>(DashboardSession.Scheme).Configure<IOptions<DashboardOptions>>((o, dashboard) =>
        {
            o.Cookie.Name = "tasks.session";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // Secure whenever served over HTTPS
            o.ExpireTimeSpan = TimeSpan.FromHours(dashboard.Value.SessionHours);
            o.SlidingExpiration = true;
            o.LoginPath = "/login";
            o.LogoutPath = "/login";
            o.AccessDeniedPath = "/login";
            o.EventsType = typeof(DashboardSession);
        });
        services.AddAuthorizationBuilder().AddPolicy(ViewPolicy, p => p
            .AddAuthenticationSchemes(DashboardSession.Scheme)
            .RequireAuthenticatedUser()
            .RequireRole(UserRoles.Viewer, UserRoles.Admin));

        services.AddAntiforgery(o =>
        {
            o.HeaderName = "RequestVerificationToken"; // htmx sends it from the body's hx-headers
            o.Cookie.Name = "tasks.antiforgery";
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddRazorPages(o =>
        {
            o.Conventions.AuthorizeFolder("/", ViewPolicy);
            o.Conventions.AllowAnonymousToPage("/Login");
        }).AddMvcOptions(o => o.Filters.Add<ActionsNeedAdmin>());

        services.AddSingleton<SignInLimiter>();
        services.AddHybridCache();
        services.AddSingleton<StateCountsCache>();
        services.AddSingleton<OverviewCache>();
        return builder;
    }

    public static WebApplication MapTasksDashboard(this WebApplication app)
    {
        app.MapRazorPages();
        return app;
    }
}
