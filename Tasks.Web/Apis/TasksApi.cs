using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Tasks.Core.Auth;
using Tasks.Core.Enqueueing;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;
using Tasks.Core.Registry;
using Tasks.Core.Telemetry;
using Tasks.Web.Auth;

namespace Tasks.Web.Apis;

public static class TasksApi
{
    public static RouteGroupBuilder MapTasksApiV1(this IEndpointRouteBuilder app)
    {
        // Every /api/v1 endpoint needs a key (Auth/ScopePolicies.cs): read to look, enqueue to add, admin for the rest.
        var api = app.MapGroup("/api/v1").RequireAuthorization(ApiKeyScopes.Read).MapGroup("/tasks");
        api.MapGet("/", ListTasks);
        api.MapGet("/counts", CountTasks);
        api.MapGet("/{id:guid}", GetTask);
        api.MapPost("/", EnqueueTask).RequireAuthorization(ApiKeyScopes.Enqueue);
        api.MapPost("/batch", EnqueueBatch).RequireAuthorization(ApiKeyScopes.Enqueue);
        api.MapPost("/{id:guid}/cancel", CancelTask).RequireAuthorization(ApiKeyScopes.Admin);
        api.MapPost("/{id:guid}/retry", RetryTask).RequireAuthorization(ApiKeyScopes.Admin);
        api.MapBulkApi();
        api.MapAttemptsApi();
        return api;
    }

    public static async Task<Results<Accepted<TaskResource>, ProblemHttpResult>> EnqueueTask(
        HttpRequest request, TaskEnqueuer enqueuer, TaskRegistry registry, IOptions<ApiOptions> options, TimeProvider clock,
        IAuthorizationService authorization, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<EnqueueBody>(request, options.Value.MaxBodyBytes, ct);
        if (problem is not null) return problem;

        var errors = new Dictionary<string, string[]>();
        var enqueue = body!.ToRequest(clock.GetUtcNow(), options.Value, (field, message) => errors[field] = [message]);
        if (errors.Count > 0) return ValidationProblem(errors);
        if (await Scopes.CheckMaintenanceAsync(request.HttpContext, authorization, registry, [enqueue]) is { } forbidden) return forbidden;
        enqueue = enqueue with { ApiKeyId = ApiKeyAuthenticationHandler.KeyIdOf(request.HttpContext.User) };
        var result = await enqueuer.EnqueueAsync([enqueue], "", ct);
        if (!result.IsValid) return Rejected(result);
        var task = result.Tasks[0];
        return TypedResults.Accepted($"/api/v1/tasks/{task.Id}", TaskResource.From(task, registry));
    }

    public static async Task<Results<Accepted<TaskBatchResult>, ProblemHttpResult>> EnqueueBatch(
        HttpRequest request, TaskEnqueuer enqueuer, TaskRegistry registry, IOptions<ApiOptions> options, TimeProvider clock,
        IAuthorizationService authorization, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<BatchBody>(request, options.Value.MaxBodyBytes, ct);
        if (problem is not null) return problem;
        if (body!.Tasks is not { Count: > 0 } tasks)
            return ValidationProblem(new Dictionary<string, string[]> { ["tasks"] = ["tasks must be a non-empty array."] });
        if (tasks.Count > options.Value.MaxBatchSize)
            return ValidationProblem(new Dictionary<string, string[]> { ["tasks"] = [$"At most {options.Value.MaxBatchSize} tasks per batch (setting Api:MaxBatchSize)."] });

        var now = clock.GetUtcNow();
        var errors = new Dictionary<string, string[]>();
        for (var i = 0; i < tasks.Count; i++)
            if (tasks[i] is null) errors[$"tasks[{i}]"] = ["Each task must be a JSON object."];
        if (errors.Count > 0) return ValidationProblem(errors);
        var requests = tasks.Select((t, i) => t.ToRequest(now, options.Value, (field, message) => errors[$"tasks[{i}].{field}"] = [message])).ToList();
        if (errors.Count > 0) return ValidationProblem(errors);
        if (await Scopes.CheckMaintenanceAsync(request.HttpContext, authorization, registry, requests) is { } forbidden) return forbidden;
        var caller = ApiKeyAuthenticationHandler.KeyIdOf(request.HttpContext.User);
        requests = requests.ConvertAll(r => r with { ApiKeyId = caller });
        var result = await enqueuer.EnqueueAsync(requests, "tasks[{0}].", ct);
        if (!result.IsValid) return Rejected(result);
        return TypedResults.Accepted("/api/v1/tasks", new TaskBatchResult([.. result.Tasks.Select(t => TaskResource.From(t, registry))]));
    }

    public static async Task<Results<Ok<TaskResource>, ProblemHttpResult>> GetTask(Guid id, TaskQueries queries, TaskRegistry registry, CancellationToken ct) =>
        await queries.GetAsync(id, ct) is { } task ? TypedResults.Ok(TaskResource.From(task, registry)) : NotFound(id);

    public static async Task<Results<Ok<TaskPage>, ProblemHttpResult>> ListTasks(
        TaskQueries queries, [FromQuery] string? state, [FromQuery] string? name, [FromQuery] string? queue,
        [FromQuery] string? schedule, [FromQuery] string? from, [FromQuery] string? to, [FromQuery] string? error,
        [FromQuery] string? limit, [FromQuery] string? cursor, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var size = 50;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.CultureInfo.InvariantCulture, out size) || size is < 1 or > TaskQueries.MaxLimit))
            errors["limit"] = [$"limit must be a whole number from 1 to {TaskQueries.MaxLimit}."];
        Guid? after = null;
        if (cursor is not null)
        {
            if (Cursor.TryDecode(cursor, out var c)) after = c;
            else errors["cursor"] = ["cursor is not one this API gave out; pass nextCursor from the previous page unchanged."];
        }
        var filter = new FilterBody(state, name, queue, schedule, from, to, error).ToFilter(errors, size, after);
        if (errors.Count > 0) return ValidationProblem(errors);

        var (items, next) = await queries.ListAsync(filter!, ct);
        return TypedResults.Ok(new TaskPage([.. items.Select(TaskListItem.From)], next is { } n ? Cursor.Encode(n) : null));
    }

    /// <summary>How many tasks are in each state, every state listed (the dashboard's header).</summary>
    public static async Task<Ok<Dictionary<string, long>>> CountTasks(TaskQueries queries, CancellationToken ct)
    {
        var counts = await queries.CountByStateAsync(ct);
        return TypedResults.Ok(Enum.GetValues<TaskState>().ToDictionary(TaskStateMachine.NameOf, s => counts.GetValueOrDefault(s)));
    }

    public static async Task<Results<Accepted<TaskResource>, ProblemHttpResult>> CancelTask(
        Guid id, TaskStateMachine lifecycle, TaskQueries queries, TaskRegistry registry, TasksTelemetry telemetry,
        CancelBroadcast broadcast, CancellationToken ct)
    {
        var (accepted, state) = await lifecycle.RequestCancelAsync(id, ct);
        if (state is null) return NotFound(id);
        if (!accepted)
            return Conflict(id, $"Task {id} is {TaskStateMachine.NameOf(state.Value)}; only pending, scheduled, queued or running tasks can be canceled.");
        if (state == TaskState.Running) await broadcast.SendAsync(id, ct); // its worker fires the token now, not at its next poll
        var task = (await queries.GetAsync(id, ct))!;
        if (state == TaskState.Canceled) telemetry.Canceled(task.Name, task.Queue);
        return TypedResults.Accepted($"/api/v1/tasks/{id}", TaskResource.From(task, registry));
    }

    public static async Task<Results<Accepted<TaskResource>, ProblemHttpResult>> RetryTask(
        Guid id, TaskStateMachine lifecycle, TaskQueries queries, TaskEnqueuer enqueuer, TaskRegistry registry, CancellationToken ct)
    {
        if (!await lifecycle.RetryByHandAsync(id, ct))
        {
            return await lifecycle.GetStateAsync(id, ct) is { } state
                ? Conflict(id, $"Task {id} is {TaskStateMachine.NameOf(state)}; only failed, canceled or expired tasks can be retried.")
                : NotFound(id);
        }
        var task = (await queries.GetAsync(id, ct))!;
        await enqueuer.PublishAsync([task]);
        return TypedResults.Accepted($"/api/v1/tasks/{id}", TaskResource.From(task, registry));
    }

    // A repeated idempotency key asking for another task is a conflict with what is stored, not a malformed request.
    private static ProblemHttpResult Rejected(EnqueueResult result) =>
        result.Conflicts.Count == 0 ? ValidationProblem(result.Errors) : TypedResults.Problem(new HttpValidationProblemDetails(result.Conflicts.ToDictionary())
        {
            Status = StatusCodes.Status409Conflict,
            Title = "The idempotency key was used for another task.",
            Detail = string.Join(" ", result.Conflicts.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        });

    private static ProblemHttpResult ValidationProblem(IReadOnlyDictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors.ToDictionary())
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request is not valid.",
            Detail = string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        });

    private static ProblemHttpResult NotFound(Guid id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Task not found", detail: $"There is no task {id}.");

    private static ProblemHttpResult Conflict(Guid id, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not possible in the task's state", detail: detail,
            extensions: new Dictionary<string, object?> { ["taskId"] = id });
}
