using Npgsql;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Gives up the lease of an attempt put back without an outcome (its message goes back to the queue), so the
/// message's redelivery may take the task over at once instead of after <c>Tasks:LeaseSeconds</c>.
/// </summary>
public sealed class HandBack(NpgsqlDataSource dataSource)
{
    [Makes(nameof(TaskLifecycle.HandBack))]
    internal const string Sql =
        "UPDATE tasks SET heartbeat_at = NULL WHERE id = $1 AND state = 'running' AND attempts = $2 AND worker = $3";

    public async Task HandBackAsync(ClaimedTask task, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(Sql);
        cmd.Parameters.Add(new() { Value = task.Id });
        cmd.Parameters.Add(new() { Value = task.Attempt });
        cmd.Parameters.Add(new() { Value = task.Worker });
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
