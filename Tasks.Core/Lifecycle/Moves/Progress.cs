using Npgsql;
using NpgsqlTypes;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>Not a move: a running attempt's progress report, written only while the attempt holds the task.</summary>
public sealed class Progress(NpgsqlDataSource dataSource, TimeProvider clock, TransientRetry retry)
{
    internal const string Sql =
        """
        UPDATE tasks SET progress_current = $3, progress_total = $4, progress_message = $5, updated_at = $6
        WHERE id = $1 AND state = 'running' AND attempts = $2
        """;

    // Retried like an outcome: a progress report doesn't fail the task over a dead pooled connection.
    public Task ReportAsync(ClaimedTask task, (long? Current, long? Total, string? Message) progress, CancellationToken ct) =>
        retry.RunAsync(async token =>
        {
            await using var cmd = dataSource.CreateCommand(Sql);
            cmd.Parameters.Add(new() { Value = task.Id });
            cmd.Parameters.Add(new() { Value = task.Attempt });
            cmd.Parameters.Add(new() { Value = progress.Current is { } c ? c : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            cmd.Parameters.Add(new() { Value = progress.Total is { } t ? t : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Bigint });
            cmd.Parameters.Add(new() { Value = progress.Message is null ? DBNull.Value : StoredText.Truncate(progress.Message, 1000), NpgsqlDbType = NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = clock.GetUtcNow() });
            await cmd.ExecuteNonQueryAsync(token);
        }, ct);
}
