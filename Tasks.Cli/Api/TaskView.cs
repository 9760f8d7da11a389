using System.Text.Json;

namespace Tasks.Cli.Api;

/// <summary>The fields of a task (<c>GET /tasks/{id}</c>, or an item of a list, which has no args or result) the commands show.</summary>
public sealed record TaskView(
    Guid Id, string Name, string Queue, string State, JsonElement? Result, string? Error, int Attempts, int MaxAttempts,
    ProgressView? Progress, DateTimeOffset EnqueuedAt, DateTimeOffset? ScheduledFor, DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt, bool CancelRequested, string? Worker)
{
    public bool IsFinished => State is "succeeded" or "failed" or "canceled" or "expired";

    /// <summary>What a watch of this task exits with once it has finished.</summary>
    public int ExitCode => State switch
    {
        "failed" => ExitCodes.TaskFailed,
        "canceled" => ExitCodes.TaskCanceled,
        "expired" => ExitCodes.TaskExpired,
        _ => ExitCodes.Ok,
    };

    public static TaskView From(JsonElement json) =>
        json.Deserialize<TaskView>(TasksClient.Json) ?? throw new CliException(ExitCodes.ServerError, "the API answered null for a task");
}

public sealed record ProgressView(long? Current, long? Total, string? Message);
