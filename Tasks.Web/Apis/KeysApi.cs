using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Web.Apis;

/// <summary>
/// API keys over HTTP (what <c>tasksctl keys</c> uses), admin scope only: create (the raw key is in that one answer,
/// never stored or logged), list (never a key or its hash) and revoke. The same rules as <c>dotnet Tasks.Web.dll keys</c>.
/// </summary>
public static class KeysApi
{
    public static RouteGroupBuilder MapKeysApiV1(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/keys").RequireAuthorization(ApiKeyScopes.Admin);
        api.MapGet("/", ListKeys);
        api.MapGet("/{name}", GetKey);
        api.MapPost("/", CreateKey);
        api.MapPost("/{name}/revoke", RevokeKey);
        return api;
    }

    public static async Task<Results<Created<CreatedKeyResource>, ProblemHttpResult>> CreateKey(
        HttpRequest request, TasksDbContext db, IOptions<ApiOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateKeyBody>(request, options.Value.MaxBodyBytes, ct);
        if (problem is not null) return problem;
        var errors = new Dictionary<string, string[]>();
        if (body!.Name is not { } name || !ApiKeys.IsValidName(name)) errors["name"] = [$"name must be {ApiKeys.NameRule}."];
        if (!ApiKeyScopes.TryParse(body.Scope, out var scope)) errors["scope"] = [$"scope must be one of {string.Join(", ", ApiKeyScopes.Names)}."];
        if (errors.Count > 0)
            return TypedResults.Problem(new HttpValidationProblemDetails(errors)
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request is not valid.",
                Detail = string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
            });

        if (await ApiKeys.CreateAsync(db, body.Name!, scope, clock, ct) is not { } key)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The key name is taken",
                detail: $"A key named '{body.Name}' exists already (names are never reused, even revoked ones).");
        var info = (await ApiKeys.FindAsync(db, ApiKeys.Hash(key), ct))!;
        request.HttpContext.Response.Headers.CacheControl = "no-store"; // the one answer that holds a raw key
        return TypedResults.Created($"/api/v1/keys/{Uri.EscapeDataString(info.Name)}", new CreatedKeyResource(info.Name, ApiKeyScopes.NameOf(info.Scope), info.CreatedAt, key));
    }

    public static async Task<Ok<KeyList>> ListKeys(TasksDbContext db, CancellationToken ct) =>
        TypedResults.Ok(new KeyList([.. (await ApiKeys.ListAsync(db, ct)).Select(KeyResource.From)]));

    public static async Task<Results<Ok<KeyResource>, ProblemHttpResult>> GetKey(string name, TasksDbContext db, CancellationToken ct) =>
        (await ApiKeys.ListAsync(db, ct)).FirstOrDefault(k => k.Name == name) is { } key
            ? TypedResults.Ok(KeyResource.From(key))
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Key not found", detail: $"There is no key named '{name}'.");

    /// <summary>Hosts that checked the key in the last <c>Auth:KeyCacheSeconds</c> may still take it until their cache expires.</summary>
    public static async Task<Results<Ok<KeyResource>, ProblemHttpResult>> RevokeKey(string name, TasksDbContext db, TimeProvider clock, CancellationToken ct)
    {
        if (!await ApiKeys.RevokeAsync(db, name, clock, ct))
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Key not found", detail: $"There is no key named '{name}'.");
        return TypedResults.Ok(KeyResource.From((await ApiKeys.ListAsync(db, ct)).First(k => k.Name == name)));
    }
}

public sealed record CreateKeyBody(string? Name, string? Scope);

public sealed record KeyResource(string Name, string Scope, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public static KeyResource From(ApiKeyInfo k) => new(k.Name, ApiKeyScopes.NameOf(k.Scope), k.CreatedAt, k.RevokedAt);
}

/// <summary>The one answer that holds the raw key: it can't be shown again.</summary>
public sealed record CreatedKeyResource(string Name, string Scope, DateTimeOffset CreatedAt, string Key);

public sealed record KeyList(IReadOnlyList<KeyResource> Items);
