using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Tasks.Core.Auth;
using Tasks.Core.Enqueueing;
using Tasks.Core.Registry;

namespace Tasks.Web.Auth;

/// <summary>Needs a principal whose <c>scope</c> claim includes <see cref="Scope"/> (an API key's, or later a signed-in user's).</summary>
public sealed record ScopeRequirement(ApiKeyScope Scope) : IAuthorizationRequirement;

internal sealed class ScopeAuthorizationHandler : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        if (ScopeOf(context.User) is { } granted && granted.Includes(requirement.Scope)) context.Succeed(requirement);
        return Task.CompletedTask;
    }

    public static ApiKeyScope? ScopeOf(ClaimsPrincipal user) =>
        ApiKeyScopes.TryParse(user.FindFirst(ApiKeyAuthenticationHandler.ScopeClaim)?.Value, out var scope) ? scope : null;
}

/// <summary>A caller without the scope an endpoint needs gets a 403 problem naming it, not a bare status.</summary>
internal sealed class ScopeAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Forbidden
            && authorizeResult.AuthorizationFailure?.FailedRequirements.OfType<ScopeRequirement>().MaxBy(r => r.Scope) is { } needed)
        {
            await Scopes.Forbidden(context.User, needed.Scope, null).ExecuteAsync(context);
            return;
        }
        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}

public static class Scopes
{
    /// <summary>The API key scheme, a policy per scope (named as the scope: <c>RequireAuthorization("enqueue")</c>) and 403s that name it.</summary>
    public static IServiceCollection AddTasksAuth(this IServiceCollection services)
    {
        // The core services, not AddAuthentication(): that brings data protection, whose key ring is made and written
        // to disk at start-up (with a warning) for nothing a bearer key needs. Cookie sign-in will bring it, stored properly.
        services.AddAuthenticationCore(o =>
        {
            o.DefaultScheme = ApiKeyAuthenticationHandler.SchemeName;
            o.AddScheme<ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        });
        services.AddWebEncoders();
        services.TryAddTransient<ApiKeyAuthenticationHandler>();
        services.AddOptions<ApiKeyAuthenticationOptions>(ApiKeyAuthenticationHandler.SchemeName)
            .Configure<IConfiguration>((o, config) => o.KeyCacheSeconds = config.GetValue("Auth:KeyCacheSeconds", o.KeyCacheSeconds))
            .ValidateDataAnnotations().ValidateOnStart();
        var policies = services.AddAuthorizationBuilder();
        foreach (var scope in Enum.GetValues<ApiKeyScope>())
            policies.AddPolicy(ApiKeyScopes.NameOf(scope), p => p.RequireAuthenticatedUser().AddRequirements(new ScopeRequirement(scope)));
        services.AddSingleton<IAuthorizationHandler, ScopeAuthorizationHandler>();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, ScopeAuthorizationResultHandler>();
        return services;
    }

    public static ProblemHttpResult Forbidden(ClaimsPrincipal user, ApiKeyScope needed, string? why)
    {
        var name = ApiKeyScopes.NameOf(needed);
        var has = ScopeAuthorizationHandler.ScopeOf(user) is { } granted ? $"this key has '{ApiKeyScopes.NameOf(granted)}'" : "this caller has none";
        return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: $"The '{name}' scope is needed",
            detail: $"{why ?? "This endpoint"} needs an API key with the '{name}' scope; {has}.",
            extensions: new Dictionary<string, object?> { ["scope"] = name });
    }

    /// <summary>
    /// Maintenance tasks (<c>[TaskContract(Admin = true)]</c>) are enqueued by admins only: a 403 naming the scope
    /// when <paramref name="requests"/> holds one and the caller isn't allowed; null when all may go ahead.
    /// </summary>
    public static async Task<ProblemHttpResult?> CheckMaintenanceAsync(
        HttpContext http, IAuthorizationService authorization, TaskRegistry registry, IReadOnlyList<EnqueueRequest> requests)
    {
        var maintenance = requests.Select(r => r.Name).Where(n => registry.TryGet(n, out var d) && d.Admin)
            .Distinct(StringComparer.Ordinal).ToList();
        if (maintenance.Count == 0
            || (await authorization.AuthorizeAsync(http.User, ApiKeyScopes.NameOf(ApiKeyScope.Admin))).Succeeded) return null;
        return Forbidden(http.User, ApiKeyScope.Admin, $"Enqueueing the maintenance task {string.Join(", ", maintenance)}");
    }
}
