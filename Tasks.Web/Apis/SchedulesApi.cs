using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Quartz;
using Tasks.Core.Auth;
using Tasks.Core.Enqueueing;
using Tasks.Core.Queries;
using Tasks.Core.Registry;
using Tasks.Core.Schedules;

namespace Tasks.Web.Apis;

/// <summary>
/// <c>/api/v1/schedules</c>: periodic tasks, kept in Quartz's job store and fired by the scheduler hosts. Reads need
/// <c>read</c>, writes <c>admin</c>. A schedule from configuration may be paused, resumed and triggered, not edited.
/// </summary>
public static class SchedulesApi
{
    public static RouteGroupBuilder MapSchedulesApiV1(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/schedules").RequireAuthorization(ApiKeyScopes.Read);
        api.MapGet("/", ListSchedules);
        api.MapGet("/{name}", GetSchedule);
        api.MapGet("/{name}/fires", ListFires);
        api.MapPost("/", CreateSchedule).RequireAuthorization(ApiKeyScopes.Admin);
        api.MapPut("/{name}", ReplaceSchedule).RequireAuthorization(ApiKeyScopes.Admin);
        api.MapDelete("/{name}", DeleteSchedule).RequireAuthorization(ApiKeyScopes.Admin);
        api.MapPost("/{name}/pause", PauseSchedule).RequireAuthorization(ApiKeyScopes.Admin);
        api.MapPost("/{name}/resume", ResumeSchedule).RequireAuthorization(ApiKeyScopes.Admin);
        api.MapPost("/{name}/trigger", TriggerSchedule).RequireAuthorization(ApiKeyScopes.Admin);
        return api;
    }

    public static async Task<Ok<ScheduleList>> ListSchedules(ScheduleStore store, ScheduleQueries queries, TaskRegistry registry, CancellationToken ct)
    {
        // A constant number of queries whatever the count: the store's reads, then every schedule's last fire at once.
        var schedules = await store.ListAsync(ct);
        var last = await queries.LastFiresAsync(schedules.Select(s => s.Definition.Name!), ct);
        return TypedResults.Ok(new ScheduleList([.. schedules.Select(s => ScheduleResource.From(s, last.GetValueOrDefault(s.Definition.Name!), registry))]));
    }

    public static async Task<Results<Ok<ScheduleResource>, ProblemHttpResult>> GetSchedule(
        string name, ScheduleStore store, ScheduleQueries queries, TaskRegistry registry, CancellationToken ct) =>
        await store.GetAsync(name, ct) is { } s ? TypedResults.Ok(await ResourceAsync(s, queries, registry, ct)) : NotFound(name);

    public static async Task<Results<Ok<ScheduleFireList>, ProblemHttpResult>> ListFires(
        string name, [FromQuery] string? limit, ScheduleStore store, ScheduleQueries queries, CancellationToken ct)
    {
        var size = 20;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.CultureInfo.InvariantCulture, out size) || size is < 1 or > ScheduleQueries.MaxLimit))
            return Invalid(new() { ["limit"] = [$"limit must be a whole number from 1 to {ScheduleQueries.MaxLimit}."] });
        if (await store.GetAsync(name, ct) is null) return NotFound(name);
        var fires = await queries.RecentFiresAsync(name, size, ct);
        return TypedResults.Ok(new ScheduleFireList([.. fires.Select(ScheduleFireResource.From)]));
    }

    public static async Task<Results<Created<ScheduleResource>, ProblemHttpResult>> CreateSchedule(
        HttpRequest request, ScheduleValidator validator, ScheduleStore store, ScheduleQueries queries, TaskRegistry registry,
        IOptions<ApiOptions> options, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<ScheduleDefinition>(request, options.Value.MaxBodyBytes, ct);
        if (problem is not null) return problem;
        return await Create(body!, validator, store, queries, registry, ct);
    }

    /// <summary>Checks and stores a new schedule: <c>POST</c>'s work once its body is read, and the dashboard's form.</summary>
    public static async Task<Results<Created<ScheduleResource>, ProblemHttpResult>> Create(
        ScheduleDefinition body, ScheduleValidator validator, ScheduleStore store, ScheduleQueries queries, TaskRegistry registry, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (validator.Check(body, errors) is not { } schedule) return Invalid(errors);
        try
        {
            await store.SaveAsync(schedule, ScheduleStore.Api, replace: false, paused: schedule.Enabled == false, ct);
        }
        catch (ObjectAlreadyExistsException)
        {
            return Conflict(schedule.Name!, $"A schedule named '{schedule.Name}' already exists; PUT /api/v1/schedules/{schedule.Name} changes it.");
        }
        var stored = (await store.GetAsync(schedule.Name!, ct))!;
        return TypedResults.Created($"/api/v1/schedules/{schedule.Name}", await ResourceAsync(stored, queries, registry, ct));
    }

    public static async Task<Results<Ok<ScheduleResource>, ProblemHttpResult>> ReplaceSchedule(
        string name, HttpRequest request, ScheduleValidator validator, ScheduleStore store, ScheduleQueries queries, TaskRegistry registry,
        IOptions<ApiOptions> options, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<ScheduleDefinition>(request, options.Value.MaxBodyBytes, ct);
        if (problem is not null) return problem;
        return await Replace(name, body!, validator, store, queries, registry, ct);
    }

    /// <summary>Checks and stores a changed API schedule: <c>PUT</c>'s work once its body is read, and the dashboard's form.</summary>
    public static async Task<Results<Ok<ScheduleResource>, ProblemHttpResult>> Replace(
        string name, ScheduleDefinition body, ScheduleValidator validator, ScheduleStore store, ScheduleQueries queries, TaskRegistry registry, CancellationToken ct)
    {
        if (body.Name is { } bodyName && bodyName != name)
            return Invalid(new() { ["name"] = [$"name '{bodyName}' differs from the schedule's '{name}' in the URL; a schedule can't be renamed."] });
        var errors = new Dictionary<string, string[]>();
        if (validator.Check(body with { Name = name }, errors) is not { } schedule) return Invalid(errors);
        if (await store.GetAsync(name, ct) is not { } existing) return NotFound(name);
        if (existing.Source == ScheduleStore.Config) return FromConfig(name, "changed");
        var pausedByHand = existing.Paused && existing.Definition.Enabled != false;
        await store.SaveAsync(schedule, ScheduleStore.Api, replace: true, paused: schedule.Enabled == false || pausedByHand, ct);
        return TypedResults.Ok(await ResourceAsync((await store.GetAsync(name, ct))!, queries, registry, ct));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteSchedule(string name, ScheduleStore store, CancellationToken ct)
    {
        if (await store.GetAsync(name, ct) is not { } existing) return NotFound(name);
        if (existing.Source == ScheduleStore.Config) return FromConfig(name, "deleted");
        await store.DeleteAsync(name, ct);
        return TypedResults.NoContent();
    }

    public static Task<Results<Ok<ScheduleResource>, ProblemHttpResult>> PauseSchedule(
        string name, ScheduleStore store, ScheduleQueries queries, TaskRegistry registry, CancellationToken ct) =>
        ChangeAsync(name, store.PauseAsync, store, queries, registry, ct);

    public static Task<Results<Ok<ScheduleResource>, ProblemHttpResult>> ResumeSchedule(
        string name, ScheduleStore store, ScheduleQueries queries, TaskRegistry registry, CancellationToken ct) =>
        ChangeAsync(name, store.ResumeAsync, store, queries, registry, ct);

    /// <summary>One run now, through the same path as a fire (its id derived from the schedule and this instant).</summary>
    public static async Task<Results<Accepted<TaskResource>, ProblemHttpResult>> TriggerSchedule(
        string name, ScheduleStore store, TaskEnqueuer enqueuer, TaskRegistry registry, TimeProvider clock, CancellationToken ct)
    {
        if (await store.GetAsync(name, ct) is not { } existing) return NotFound(name);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(clock.GetUtcNow().ToUnixTimeMilliseconds());
        var result = await enqueuer.EnqueueAsync([ScheduleFires.Request(existing.Definition, now)], "", ct);
        if (!result.IsValid)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "The schedule's task no longer fits its contract",
                detail: string.Join(" ", result.Errors.Concat(result.Conflicts).Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));
        var task = result.Tasks[0];
        return TypedResults.Accepted($"/api/v1/tasks/{task.Id}", TaskResource.From(task, registry));
    }

    private static async Task<Results<Ok<ScheduleResource>, ProblemHttpResult>> ChangeAsync(
        string name, Func<string, CancellationToken, Task> change, ScheduleStore store, ScheduleQueries queries, TaskRegistry registry, CancellationToken ct)
    {
        if (await store.GetAsync(name, ct) is null) return NotFound(name);
        await change(name, ct);
        return await store.GetAsync(name, ct) is { } s ? TypedResults.Ok(await ResourceAsync(s, queries, registry, ct)) : NotFound(name);
    }

    private static async Task<ScheduleResource> ResourceAsync(StoredSchedule s, ScheduleQueries queries, TaskRegistry registry, CancellationToken ct)
    {
        var last = await queries.RecentFiresAsync(s.Definition.Name!, 1, ct);
        return ScheduleResource.From(s, last.Count > 0 ? last[0] : null, registry);
    }

    private static ProblemHttpResult Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The schedule is not valid.",
            Detail = string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        });

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Schedule not found", detail: $"There is no schedule '{name}'.");

    private static ProblemHttpResult Conflict(string name, string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflicts with a stored schedule", detail: detail,
            extensions: new Dictionary<string, object?> { ["schedule"] = name });

    private static ProblemHttpResult FromConfig(string name, string verb) => Conflict(name, ConfigOnly(name, verb));

    /// <summary>Why a config schedule can't be <paramref name="verb"/> here (the 409's detail; the dashboard shows it too).</summary>
    public static string ConfigOnly(string name, string verb) =>
        $"Schedule '{name}' comes from configuration (source: config): it can be paused, resumed or triggered here, " +
        $"but only {verb} in the Schedules section of the scheduler's configuration.";
}
