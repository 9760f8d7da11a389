using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Web.Apis;

/// <summary>
/// Dashboard users over HTTP (for the CLI), admin-scoped API keys only: list, create, change role and/or password
/// (either ends the user's sessions), delete. Passwords go in, never out; the same rules as <c>Tasks.Web users</c>.
/// </summary>
public static class UsersApi
{
    public static RouteGroupBuilder MapUsersApiV1(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/users").RequireAuthorization(ApiKeyScopes.Admin);
        api.MapGet("/", ListUsers);
        api.MapPost("/", CreateUser);
        api.MapPut("/{name}", UpdateUser);
        api.MapDelete("/{name}", DeleteUser);
        return api;
    }

    public static async Task<Ok<UserList>> ListUsers(TasksDbContext db, CancellationToken ct) =>
        TypedResults.Ok(new UserList([.. (await Users.ListAsync(db, ct)).Select(UserResource.From)]));

    public static async Task<Results<Created<UserResource>, ProblemHttpResult>> CreateUser(
        HttpRequest request, TasksDbContext db, IOptions<ApiOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateUserBody>(request, options.Value.MaxBodyBytes, ct);
        if (problem is not null) return problem;
        var errors = new Dictionary<string, string[]>();
        if (!Users.IsValidName(body!.Name)) errors["name"] = [$"name must be {Users.NameRule}."];
        if (!UserRoles.TryParse(body.Role, out var role)) errors["role"] = ["role must be viewer or admin."];
        if (!Users.IsValidPassword(body.Password)) errors["password"] = [$"{Users.PasswordRule}."];
        if (errors.Count > 0) return Invalid(errors);
        if (!await Users.CreateAsync(db, body.Name!, role, body.Password!, clock, ct))
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The user exists",
                detail: $"A user named '{body.Name}' exists already; PUT /api/v1/users/{body.Name} changes it.");
        return TypedResults.Created($"/api/v1/users/{body.Name}", UserResource.From((await Users.FindAsync(db, body.Name!, ct))!));
    }

    public static async Task<Results<Ok<UserResource>, ProblemHttpResult>> UpdateUser(
        string name, HttpRequest request, TasksDbContext db, IOptions<ApiOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<UpdateUserBody>(request, options.Value.MaxBodyBytes, ct);
        if (problem is not null) return problem;
        var errors = new Dictionary<string, string[]>();
        UserRole? role = null;
        if (body!.Role is not null)
        {
            if (UserRoles.TryParse(body.Role, out var r)) role = r;
            else errors["role"] = ["role must be viewer or admin."];
        }
        if (body.Password is not null && !Users.IsValidPassword(body.Password)) errors["password"] = [$"{Users.PasswordRule}."];
        if (body.Role is null && body.Password is null) errors["$"] = ["Send role, password or both."];
        if (errors.Count > 0) return Invalid(errors);
        if (!await Users.UpdateAsync(db, name, role, body.Password, clock, ct)) return NotFound(name);
        return TypedResults.Ok(UserResource.From((await Users.FindAsync(db, name, ct))!));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteUser(string name, TasksDbContext db, CancellationToken ct) =>
        await Users.DeleteAsync(db, name, ct) ? TypedResults.NoContent() : NotFound(name);

    private static ProblemHttpResult Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request is not valid.",
            Detail = string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        });

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "User not found", detail: $"There is no user '{name}'.");
}

public sealed record CreateUserBody(string? Name, string? Role, string? Password);

public sealed record UpdateUserBody(string? Role, string? Password);

/// <summary>A user as the API shows it: never the password or its hash, nor the stamp.</summary>
public sealed record UserResource(string Name, string Role, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static UserResource From(UserInfo u) => new(u.Name, UserRoles.NameOf(u.Role), u.CreatedAt, u.UpdatedAt);
}

public sealed record UserList(IReadOnlyList<UserResource> Items);
