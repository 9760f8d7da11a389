namespace Tasks.Core.Lifecycle.Moves;

/// <summary>An attempt the handler ended as canceled (its token fired, or it said so).</summary>
public sealed class Cancel(AttemptOutcome outcome)
{
    [Makes(nameof(TaskLifecycle.Cancel))]
    internal const string Sql =
        $"""
        WITH ended AS (
            UPDATE tasks SET updated_at = $5, error = $3, error_details = $4,
                state = 'canceled', scheduled_for = NULL, finished_at = $5, cancel_requested = false
            WHERE id = $1 AND state = 'running' AND attempts = $2
            RETURNING id, attempts, worker, started_at, state),
        {AttemptOutcome.Recorded}
        """;

    public Task<bool> CancelAsync(ClaimedTask task, string reason, CancellationToken ct) =>
        outcome.WriteAsync(Sql, task, (reason, null), null, ct);
}
