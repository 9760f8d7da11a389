using Npgsql;
using NpgsqlTypes;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Writes how an attempt ended (<see cref="Fail"/>, <see cref="Cancel"/>), if the attempt still holds the task.
/// Every outcome statement takes $1 id, $2 attempt, $3 error, $4 details, $5 now, and $6 when given, and answers
/// how many tasks it moved; each records the attempt in task_attempts in the same statement (<see cref="Recorded"/>).
/// </summary>
public sealed class AttemptOutcome(NpgsqlDataSource dataSource, TimeProvider clock, TransientRetry retry)
{
    /// <summary>
    /// The tail of an outcome statement whose UPDATE is the CTE <c>ended</c> (returning the attempt and the new
    /// state): the attempt's row, with the first line of its error, and the count the caller reads. Repeating a
    /// statement that had committed moves nothing, so records nothing.
    /// </summary>
    internal const string Recorded =
        """
        recorded AS (
            INSERT INTO task_attempts (task_id, attempt, worker, started_at, ended_at, outcome, error)
            SELECT id, attempts, worker, started_at, $5, CASE ended.state WHEN 'scheduled' THEN 'retried' ELSE ended.state END,
                   left(split_part($3, E'\n', 1), 500)
            FROM ended ON CONFLICT DO NOTHING)
        SELECT count(*) FROM ended
        """;

    /// <summary>Returns whether the attempt still held the task. Retried on a connection found dead: an outcome isn't given up for that.</summary>
    public Task<bool> WriteAsync(string sql, ClaimedTask task, (string Error, string? Details) outcome, DateTimeOffset? scheduledFor, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        return retry.RunAsync(async token =>
        {
            await using var cmd = dataSource.CreateCommand(sql);
            cmd.Parameters.Add(new() { Value = task.Id });
            cmd.Parameters.Add(new() { Value = task.Attempt });
            cmd.Parameters.Add(new() { Value = StoredText.Truncate(outcome.Error, 2000) });
            cmd.Parameters.Add(new() { Value = outcome.Details is null ? DBNull.Value : StoredText.Truncate(outcome.Details, 100_000), NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = now });
            if (scheduledFor is { } at) cmd.Parameters.Add(new() { Value = at });
            return await cmd.ExecuteScalarAsync(token) is 1L;
        }, ct);
    }
}
