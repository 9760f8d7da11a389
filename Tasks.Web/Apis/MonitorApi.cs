using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tasks.Core.Auth;
using Tasks.Core.Data;
using Tasks.Core.Monitoring;

namespace Tasks.Web.Apis;

/// <summary>
/// What the camera recorded (read scope): <c>/api/v1/snapshots</c> (a series for charts), <c>/api/v1/stats</c> (the
/// latest snapshot), <c>/api/v1/queues</c> and <c>/api/v1/alerts</c>. The scheduler hosts take the snapshots; this
/// only reads them (docs/api.md, "Monitoring").
/// </summary>
public static class MonitorApi
{
    private static readonly TimeSpan DefaultRange = TimeSpan.FromHours(1);
    private const int DefaultPoints = 360;

    public static RouteGroupBuilder MapMonitorApiV1(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").RequireAuthorization(ApiKeyScopes.Read);
        api.MapGet("/snapshots", GetSeries);
        api.MapGet("/stats", GetStats);
        api.MapGet("/queues", ListQueues);
        api.MapGet("/alerts", ListAlerts);
        return api;
    }

    public static async Task<Results<Ok<SeriesResource>, ProblemHttpResult>> GetSeries(
        [FromQuery] string? from, [FromQuery] string? to, [FromQuery] string? step, TasksDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var end = ParseTime(to, "to", errors) ?? clock.GetUtcNow();
        var start = ParseTime(from, "from", errors) ?? end - DefaultRange;
        if (errors.Count == 0 && start >= end) errors["from"] = ["from must be before to."];
        var range = end - start;
        var stepSeconds = (int)Math.Max(1, Math.Ceiling(range.TotalSeconds / DefaultPoints));
        if (step is not null && (!int.TryParse(step, NumberStyles.None, CultureInfo.InvariantCulture, out stepSeconds) || stepSeconds is < 1 or > 31 * 86400))
            errors["step"] = ["step must be a whole number of seconds from 1 to 2678400."];
        else if (errors.Count == 0 && range.TotalSeconds / stepSeconds > MonitorQueries.MaxPoints)
            errors["step"] = [$"from {start:O} to {end:O} in steps of {stepSeconds} s is more than {MonitorQueries.MaxPoints} points; take a step of at least {Math.Ceiling(range.TotalSeconds / MonitorQueries.MaxPoints)} s."];
        if (errors.Count > 0) return Invalid(errors);

        var points = await MonitorQueries.SeriesAsync(db, start, end, TimeSpan.FromSeconds(stepSeconds), ct);
        return TypedResults.Ok(new SeriesResource(start, end, stepSeconds, [.. points.Select(SeriesPointResource.From)]));
    }

    public static async Task<Results<Ok<StatsResource>, ProblemHttpResult>> GetStats(TasksDbContext db, CancellationToken ct) =>
        await MonitorQueries.LatestAsync(db, ct) is { } latest
            ? TypedResults.Ok(StatsResource.From(latest))
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No snapshot yet",
                detail: "The camera has not taken a snapshot yet: it runs in the scheduler hosts, every Monitor:SnapshotSeconds.");

    public static async Task<Ok<QueueList>> ListQueues(TasksDbContext db, TimeProvider clock, CancellationToken ct)
    {
        var (at, queues) = await MonitorQueries.QueuesAsync(db, clock, ct);
        return TypedResults.Ok(new QueueList(at, [.. queues.Select(q => new QueueResource(q.Name, q.Depth, q.Consumers, q.PublishRate, q.DeliverRate, q.Paused, q.Unacked))]));
    }

    public static async Task<Results<Ok<AlertList>, ProblemHttpResult>> ListAlerts([FromQuery] string? active, TasksDbContext db, CancellationToken ct)
    {
        if (active is not (null or "true" or "false")) return Invalid(new() { ["active"] = ["active must be true or false."] });
        bool? open = active is null ? null : active == "true";
        var alerts = await MonitorQueries.AlertsAsync(db, open, ct);
        return TypedResults.Ok(new AlertList([.. alerts.Select(AlertResource.From)]));
    }

    private static DateTimeOffset? ParseTime(string? value, string field, Dictionary<string, string[]> errors)
    {
        if (value is null) return null;
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)) return time;
        errors[field] = [$"{field} must be a date and time in ISO 8601, such as 2026-12-07T05:00:00Z."];
        return null;
    }

    private static ProblemHttpResult Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request is not valid.",
            Detail = string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        });
}
