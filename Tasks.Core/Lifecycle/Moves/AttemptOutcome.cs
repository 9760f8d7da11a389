using Npgsql;
using NpgsqlTypes;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Writes how an attempt ended (<see cref="Fail"/>, <see cref="Cancel"/>), if the attempt still holds the task.
/// Every outcome statement takes $1 id, $2 attempt, $3 error, $4 details, $5 now, and $6 when given.
/// </summary>
public sealed class AttemptOutcome(NpgsqlDataSource dataSource, TimeProvider clock, TransientRetry retry)
{
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
            return await cmd.ExecuteNonQueryAsync(token) == 1;
        }, ct);
    }
}
