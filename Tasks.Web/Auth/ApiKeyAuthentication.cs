using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Web.Auth;

public sealed class ApiKeyAuthenticationOptions : AuthenticationSchemeOptions
{
    /// <summary>How long a valid key's look-up is remembered (<c>Auth:KeyCacheSeconds</c>); a revocation takes effect within it.</summary>
    [Range(0, 300)]
    public int KeyCacheSeconds { get; set; } = 10;
}

/// <summary>
/// <c>Authorization: Bearer &lt;key&gt;</c>: the key's hash is looked up and the caller becomes a principal with the
/// key's id, name and scope (what the scope policies check). No header: no result (anonymous); an unknown key:
/// 401; a revoked one: 403. Valid keys are remembered for a few seconds, so enqueueing doesn't pay a database
/// round trip per request.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<ApiKeyAuthenticationOptions> options, ILoggerFactory logger, UrlEncoder encoder, IMemoryCache cache)
    : AuthenticationHandler<ApiKeyAuthenticationOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ScopeClaim = "scope";
    public const string KeyIdClaim = "api_key_id";

    private const string Revoked = "This API key was revoked; ask an admin for a new one.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (header.Length == 0) return AuthenticateResult.NoResult();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.AsSpan(7).Trim().IsEmpty)
            return AuthenticateResult.Fail("Send an API key as 'Authorization: Bearer <key>'.");

        var hash = ApiKeys.Hash(header[7..].Trim());
        if (!cache.TryGetValue(CacheKey(hash), out ApiKeyInfo? key))
        {
            key = await ApiKeys.FindAsync(Context.RequestServices.GetRequiredService<TasksDbContext>(), hash, Context.RequestAborted);
            if (key is null) return AuthenticateResult.Fail("The API key is not known.");
            if (key.RevokedAt is null && Options.KeyCacheSeconds > 0)
                cache.Set(CacheKey(hash), key, TimeSpan.FromSeconds(Options.KeyCacheSeconds));
        }
        if (key!.RevokedAt is not null) return AuthenticateResult.Fail(Revoked);

        var identity = new ClaimsIdentity(
            [
                new Claim(KeyIdClaim, key.Id.ToString()),
                new Claim(ClaimTypes.Name, key.Name),
                new Claim(ScopeClaim, ApiKeyScopes.NameOf(key.Scope)),
            ], SchemeName, ClaimTypes.Name, null);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        // Kept from before scopes: a known but revoked key is refused with 403, not asked to authenticate.
        if (result.Failure?.Message == Revoked)
        {
            await TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "API key revoked", detail: Revoked)
                .ExecuteAsync(Context);
            return;
        }
        Response.Headers.WWWAuthenticate = "Bearer";
        await TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "API key required",
            detail: result.Failure?.Message ?? "Send an API key as 'Authorization: Bearer <key>'.").ExecuteAsync(Context);
    }

    /// <summary>The API key a request came with; null for callers that aren't one.</summary>
    public static Guid? KeyIdOf(ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirst(KeyIdClaim)?.Value, out var id) ? id : null;

    private static (string, string) CacheKey(string hash) => ("api-key", hash);
}
