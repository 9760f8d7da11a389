using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tasks.Core.Auth;
using Tasks.Core.Control;
using Tasks.Core.Registry;

namespace Tasks.Web.Apis;

/// <summary>
/// <c>/api/v1/workers</c> remote control, over the control channel (<see cref="ControlClient"/>): ping every worker,
/// shut one down, pause or resume one's queue. Each is a command to the workers and waits for their replies up to
/// <c>timeoutMs</c>; a named worker that doesn't answer in time is a 404, a command the broker doesn't take a 503.
/// All need <c>admin</c>.
/// </summary>
public static class WorkersControlApi
{
    public const int DefaultTimeoutMs = 1000;
    public const int MaxTimeoutMs = 10_000;
    private const int MaxNameLength = 200;

    public static RouteGroupBuilder MapWorkersControlApiV1(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1/workers").RequireAuthorization(ApiKeyScopes.Admin);
        api.MapPost("/ping", Ping);
        api.MapPost("/{name}/shutdown", Shutdown);
        api.MapPost("/{name}/queues/{queue}/pause", (string name, string queue, string? timeoutMs, ControlClient control, CancellationToken ct) =>
            ChangeQueue(ControlChannel.Pause, name, queue, timeoutMs, control, ct));
        api.MapPost("/{name}/queues/{queue}/resume", (string name, string queue, string? timeoutMs, ControlClient control, CancellationToken ct) =>
            ChangeQueue(ControlChannel.Resume, name, queue, timeoutMs, control, ct));
        return api;
    }

    /// <summary>Every worker that answers within the timeout, with its round trip.</summary>
    public static async Task<Results<Ok<WorkerPingList>, ProblemHttpResult>> Ping(
        [FromQuery] string? timeoutMs, ControlClient control, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var timeout = Timeout(timeoutMs, errors);
        if (errors.Count > 0) return Invalid(errors);
        IReadOnlyList<ControlAnswer> answers;
        try { answers = await control.AskAsync(ControlChannel.Ping, null, timeout, ct); }
        catch (ControlUnavailableException e) { return Unavailable(e); }
        return TypedResults.Ok(new WorkerPingList([.. answers
            .Select(a => new WorkerPing(a.Reply.Worker, Math.Round(a.RoundTrip.TotalMilliseconds, 1)))
            .OrderBy(p => p.Name, StringComparer.Ordinal)]));
    }

    /// <summary>The worker stops as on SIGTERM: no new messages, its running tasks get the grace period.</summary>
    public static async Task<Results<Accepted<WorkerControlResult>, ProblemHttpResult>> Shutdown(
        string name, [FromQuery] string? timeoutMs, ControlClient control, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var timeout = Timeout(timeoutMs, errors);
        CheckName(name, errors);
        if (errors.Count > 0) return Invalid(errors);
        try
        {
            return await control.AskAsync(ControlChannel.Shutdown, name, timeout, ct) is [var answer, ..]
                ? TypedResults.Accepted((string?)null, WorkerControlResult.From(answer, null))
                : NoAnswer(name, timeout);
        }
        catch (ControlUnavailableException e)
        {
            return Unavailable(e);
        }
    }

    public static async Task<Results<Ok<WorkerControlResult>, ProblemHttpResult>> ChangeQueue(
        string command, string name, string queue, string? timeoutMs, ControlClient control, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var timeout = Timeout(timeoutMs, errors);
        CheckName(name, errors);
        if (QueueNames.Problem(queue) is { } problem) errors["queue"] = [problem];
        if (errors.Count > 0) return Invalid(errors);
        IReadOnlyList<ControlAnswer> answers;
        try { answers = await control.AskAsync(command, name, timeout, ct, queue: queue); }
        catch (ControlUnavailableException e) { return Unavailable(e); }
        if (answers is not [var answer, ..]) return NoAnswer(name, timeout);
        return answer.Reply.Done
            ? TypedResults.Ok(WorkerControlResult.From(answer, queue))
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Queue not consumed by this worker", detail: $"Worker '{name}' answered: {answer.Reply.Detail}.",
                extensions: new Dictionary<string, object?> { ["worker"] = name, ["queue"] = queue });
    }

    private static TimeSpan Timeout(string? timeoutMs, Dictionary<string, string[]> errors)
    {
        var ms = DefaultTimeoutMs;
        if (timeoutMs is not null && (!int.TryParse(timeoutMs, CultureInfo.InvariantCulture, out ms) || ms is < 1 or > MaxTimeoutMs))
            errors["timeoutMs"] = [$"timeoutMs must be a whole number of milliseconds from 1 to {MaxTimeoutMs}."];
        return TimeSpan.FromMilliseconds(ms);
    }

    private static void CheckName(string name, Dictionary<string, string[]> errors)
    {
        if (name.Length > MaxNameLength || name.Any(char.IsControl))
            errors["name"] = [$"name must be a worker's name (Worker:Name): at most {MaxNameLength} characters, no control characters."];
    }

    private static ProblemHttpResult NoAnswer(string name, TimeSpan timeout) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Worker not found",
            detail: $"No worker named '{name}' answered within {timeout.TotalMilliseconds:0} ms.",
            extensions: new Dictionary<string, object?> { ["worker"] = name });

    /// <summary>The broker didn't take the command: nobody got it, and trying again later may work.</summary>
    private static ProblemHttpResult Unavailable(ControlUnavailableException e) =>
        TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Control channel unavailable",
            detail: $"{e.Message} No worker got it; try again once the broker is reachable.");

    private static ProblemHttpResult Invalid(Dictionary<string, string[]> errors) =>
        TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request is not valid.",
            Detail = string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")),
        });
}

public sealed record WorkerPing(string Name, double LatencyMs);

public sealed record WorkerPingList(IReadOnlyList<WorkerPing> Items);

/// <summary>What a worker said it did: <paramref name="Detail"/> in its words.</summary>
public sealed record WorkerControlResult(string Name, string Command, string? Queue, string Detail, double LatencyMs)
{
    public static WorkerControlResult From(ControlAnswer answer, string? queue) =>
        new(answer.Reply.Worker, answer.Reply.Command, queue, answer.Reply.Detail, Math.Round(answer.RoundTrip.TotalMilliseconds, 1));
}
