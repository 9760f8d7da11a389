using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Tasks.Core.Auth;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;
using Tasks.Web.Auth;

namespace Tasks.Web.Apis;

/// <summary>
/// Actions on every task of a filter, set-based in the database (<see cref="BulkActions"/>), and the failed view's
/// groups. <c>?dryRun=true</c> only counts what the action would touch, for a confirmation.
/// </summary>
public static class BulkApi
{
    public static RouteGroupBuilder MapBulkApi(this RouteGroupBuilder tasks)
    {
        tasks.MapGet("/failed/groups", FailedGroups);
        var bulk = tasks.MapGroup("/bulk").RequireAuthorization(ApiKeyScopes.Admin);
        bulk.MapPost("/retry", (HttpRequest r, BulkActions a, IOptions<ApiOptions> o, string? dryRun, CancellationToken ct) => RunAsync(BulkAction.Retry, r, a, o, dryRun, ct));
        bulk.MapPost("/cancel", (HttpRequest r, BulkActions a, IOptions<ApiOptions> o, string? dryRun, CancellationToken ct) => RunAsync(BulkAction.Cancel, r, a, o, dryRun, ct));
        bulk.MapPost("/delete", (HttpRequest r, BulkActions a, IOptions<ApiOptions> o, string? dryRun, CancellationToken ct) => RunAsync(BulkAction.Delete, r, a, o, dryRun, ct));
        return tasks;
    }

    public static async Task<Results<Ok<BulkMatched>, Ok<BulkTouched>, ProblemHttpResult>> RunAsync(
        BulkAction action, HttpRequest request, BulkActions actions, IOptions<ApiOptions> options, string? dryRun, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var dry = false;
        if (dryRun is not null && !bool.TryParse(dryRun, out dry)) errors["dryRun"] = ["dryRun must be true or false."];
        var (body, problem) = await JsonBody.ReadAsync<FilterBody>(request, options.Value.MaxBodyBytes, ct);
        if (problem is not null) return problem;
        var filter = body!.ToFilter(errors);
        if (filter is not null && BulkActions.StatesFor(action, filter).Length == 0)
        {
            var allowed = BulkActions.StatesOf(action).Allowed.Select(TaskStateMachine.NameOf);
            errors["state"] = [$"A bulk {action.ToString().ToLowerInvariant()} takes tasks that are {string.Join(", ", allowed)}; not {body.State}."];
        }
        if (errors.Count > 0) return Invalid(errors);

        if (dry) return TypedResults.Ok(new BulkMatched(await actions.CountAsync(action, filter!, ct)));
        return TypedResults.Ok(new BulkTouched(await actions.RunAsync(action, filter!, ct)));
    }

    public static async Task<Results<Ok<FailedGroupList>, ProblemHttpResult>> FailedGroups(TaskQueries queries, [FromQuery] string? limit, CancellationToken ct)
    {
        var size = 100;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.CultureInfo.InvariantCulture, out size) || size is < 1 or > TaskQueries.MaxLimit))
            return Invalid(new() { ["limit"] = [$"limit must be a whole number from 1 to {TaskQueries.MaxLimit}."] });
        return TypedResults.Ok(new FailedGroupList(await queries.FailedGroupsAsync(size, ct)));
    }

    private static ProblemHttpResult Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request is not valid.",
            Detail = string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        });
}

/// <summary>A dry run's answer: the tasks the action would touch now.</summary>
public sealed record BulkMatched(long Matched);

/// <summary>An action's answer: the tasks it touched.</summary>
public sealed record BulkTouched(long Touched);

public sealed record FailedGroupList(IReadOnlyList<FailedGroup> Items);
