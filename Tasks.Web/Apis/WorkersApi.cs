using Microsoft.AspNetCore.Http.HttpResults;
using Tasks.Core.Auth;
using Tasks.Core.Queries;

namespace Tasks.Web.Apis;

/// <summary>
/// <c>/api/v1/workers</c>: the workers as their heartbeats describe them (<c>read</c> scope). The control actions
/// (ping, shutdown, pause) are <c>WorkersControlApi</c>'s.
/// </summary>
public static class WorkersApi
{
    public static RouteGroupBuilder MapWorkersApiV1(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/workers").RequireAuthorization(ApiKeyScopes.Read);
        api.MapGet("/", ListWorkers);
        api.MapGet("/{name}", GetWorker);
        return api;
    }

    public static async Task<Ok<WorkerList>> ListWorkers(WorkerQueries queries, CancellationToken ct) =>
        TypedResults.Ok(new WorkerList([.. (await queries.ListAsync(ct)).Select(w => WorkerResource.From(w.Worker, w.State))]));

    public static async Task<Results<Ok<WorkerResource>, ProblemHttpResult>> GetWorker(string name, WorkerQueries queries, CancellationToken ct) =>
        await queries.GetAsync(name, ct) is { } w
            ? TypedResults.Ok(WorkerResource.From(w.Worker, w.State))
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Worker not found", detail: $"There is no worker '{name}'.");
}
