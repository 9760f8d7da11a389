namespace Tasks.Core.Lifecycle.Moves;

/// <summary>A failed attempt: back to <c>scheduled</c> for a retry, or <c>failed</c> when it may not be retried.</summary>
public sealed class Fail(AttemptOutcome outcome)
{
    // A cancel asked for while the attempt was failing wins over its retry.
    [Makes(nameof(TaskLifecycle.Retry), nameof(TaskLifecycle.Cancel))]
    internal const string RetrySql =
        $"""
        WITH ended AS (
            UPDATE tasks SET updated_at = $5, error = $3, error_details = $4,
                state = CASE WHEN cancel_requested THEN 'canceled' ELSE 'scheduled' END,
                scheduled_for = CASE WHEN cancel_requested THEN NULL ELSE $6 END,
                finished_at = CASE WHEN cancel_requested THEN $5 ELSE NULL END,
                cancel_requested = false
            WHERE id = $1 AND state = 'running' AND attempts = $2
            RETURNING id, attempts, worker, started_at, state),
        {AttemptOutcome.Recorded}
        """;

    [Makes(nameof(TaskLifecycle.Fail))]
    internal const string Sql =
        $"""
        WITH ended AS (
            UPDATE tasks SET updated_at = $5, error = $3, error_details = $4,
                state = 'failed', scheduled_for = NULL, finished_at = $5, cancel_requested = false
            WHERE id = $1 AND state = 'running' AND attempts = $2
            RETURNING id, attempts, worker, started_at, state),
        {AttemptOutcome.Recorded}
        """;

    /// <summary>Retried at <paramref name="retryAt"/>, or failed when it is null. Returns whether the attempt still held the task.</summary>
    public Task<bool> FailAsync(ClaimedTask task, string error, string? details, DateTimeOffset? retryAt, CancellationToken ct) =>
        retryAt is { } at
            ? outcome.WriteAsync(RetrySql, task, (error, details), at, ct)
            : outcome.WriteAsync(Sql, task, (error, details), null, ct);
}
