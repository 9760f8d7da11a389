using Microsoft.AspNetCore.Http.HttpResults;
using Tasks.Core.Queries;

namespace Tasks.Web.Apis;

/// <summary>
/// <c>GET /api/v1/tasks/{id}/attempts</c>: a task's attempt history, oldest first. An endpoint of its own rather than
/// a field of the task (whose <c>attempts</c> is the count), so polling a task costs no extra query.
/// </summary>
public static class AttemptsApi
{
    public static RouteGroupBuilder MapAttemptsApi(this RouteGroupBuilder tasks)
    {
        tasks.MapGet("/{id:guid}/attempts", GetAttempts);
        return tasks;
    }

    public static async Task<Results<Ok<TaskAttempts>, ProblemHttpResult>> GetAttempts(
        Guid id, TaskQueries tasks, AttemptQueries attempts, CancellationToken ct) =>
        await tasks.GetAsync(id, ct) is { } task
            ? TypedResults.Ok(new TaskAttempts(id, await attempts.HistoryAsync(task, ct)))
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Task not found", detail: $"There is no task {id}.");
}

/// <summary>A task's attempts: worker, start, end (null while running), outcome and the first line of its error.</summary>
public sealed record TaskAttempts(Guid TaskId, IReadOnlyList<AttemptView> Attempts);
