using System.ComponentModel.DataAnnotations;

namespace Tasks.Web.Dashboard;

/// <summary>The dashboard's settings (<c>Dashboard:*</c>); docs/configuration.md lists them.</summary>
public sealed class DashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>How long a sign-in lasts without use (sliding: each request past half of it renews the cookie).</summary>
    [Range(1, 24 * 30)]
    public int SessionHours { get; set; } = 8;

    /// <summary>Failed sign-ins allowed per user name in <see cref="SignInWindowSeconds"/>, on each web instance.</summary>
    [Range(1, 1000)]
    public int SignInFailuresPerUser { get; set; } = 5;

    /// <summary>Failed sign-ins allowed per client address in <see cref="SignInWindowSeconds"/>, on each web instance.</summary>
    [Range(1, 10000)]
    public int SignInFailuresPerAddress { get; set; } = 20;

    [Range(1, 3600)]
    public int SignInWindowSeconds { get; set; } = 60;

    /// <summary>How often the Overview's counts refresh in the browser, and how long the server caches them.</summary>
    [Range(1, 300)]
    public int RefreshSeconds { get; set; } = 5;
}
