using Npgsql;

namespace Tasks.Core.Lifecycle;

/// <summary>Reads a task's state as last committed.</summary>
public sealed class CurrentState(NpgsqlDataSource dataSource)
{
    public async Task<TaskState?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand("SELECT state FROM tasks WHERE id = $1");
        cmd.Parameters.Add(new() { Value = id });
        return await cmd.ExecuteScalarAsync(ct) is string s ? TaskStates.Parse(s) : null;
    }
}
