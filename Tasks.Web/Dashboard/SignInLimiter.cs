using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Tasks.Web.Dashboard;

/// <summary>
/// Failed sign-ins per user name and per client address, in fixed windows, in this instance's memory. Only failures
/// count, which ASP.NET Core's rate-limiting middleware can't do (it admits or refuses a request before it runs),
/// so the limiter is used directly: probed before the password is checked, charged after it fails. See
/// docs/design.md, "Dashboard sign-in".
/// </summary>
public sealed class SignInLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public SignInLimiter(IOptions<DashboardOptions> options)
    {
        var o = options.Value;
        _limiter = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, k => new FixedWindowRateLimiterOptions
        {
            PermitLimit = k.StartsWith("u:", StringComparison.Ordinal) ? o.SignInFailuresPerUser : o.SignInFailuresPerAddress,
            Window = TimeSpan.FromSeconds(o.SignInWindowSeconds),
            QueueLimit = 0,
        }));
    }

    /// <summary>True when the user or the address used up its failures; <paramref name="retryAfter"/> says for how long.</summary>
    public bool IsBlocked(string user, string address, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        foreach (var key in Keys(user, address))
        {
            using var probe = _limiter.AttemptAcquire(key, 0); // 0 permits: asks, takes nothing
            if (probe.IsAcquired) continue;
            if (probe.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > retryAfter) retryAfter = after;
            if (retryAfter == TimeSpan.Zero) retryAfter = TimeSpan.FromSeconds(1);
        }
        return retryAfter > TimeSpan.Zero;
    }

    public void Failed(string user, string address)
    {
        foreach (var key in Keys(user, address)) _limiter.AttemptAcquire(key).Dispose();
    }

    // Names compare without case here, so "Admin" and "admin" share their failures; long names can't grow the table.
    private static string[] Keys(string user, string address) =>
        ["u:" + (user.Length > 100 ? user[..100] : user).ToLowerInvariant(), "a:" + address];

    public void Dispose() => _limiter.Dispose();
}
