using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Web.Auth;

/// <summary>
/// Write endpoints need <c>Authorization: Bearer &lt;key&gt;</c>: 401 without a known key, 403 with a revoked one.
/// Valid keys are remembered for a few seconds, so enqueueing doesn't pay a look-up per request; a revocation
/// takes effect within that time.
/// </summary>
public sealed class ApiKeyFilter(TasksDbContext db, IMemoryCache cache) : IEndpointFilter
{
    private static readonly TimeSpan Remember = TimeSpan.FromSeconds(10);

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
            return Unauthorized(http, "Send an API key as 'Authorization: Bearer <key>'.");

        var hash = ApiKeys.Hash(header[7..].Trim());
        if (cache.TryGetValue(hash, out _)) return await next(context);

        var key = await db.ApiKeys.AsNoTracking().Where(k => k.Hash == hash)
            .Select(k => new { k.RevokedAt }).FirstOrDefaultAsync(http.RequestAborted);
        if (key is null) return Unauthorized(http, "The API key is not known.");
        if (key.RevokedAt is not null)
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "API key revoked",
                detail: "This API key was revoked; ask an admin for a new one.");
        cache.Set(hash, true, Remember);
        return await next(context);
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unauthorized(HttpContext http, string detail)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "API key required", detail: detail);
    }
}
