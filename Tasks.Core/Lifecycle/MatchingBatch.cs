using System.Globalization;
using Npgsql;
using Tasks.Core.Queries;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// One batch of a set-based move: a statement whose <c>{0}</c> takes a filter's conditions, run over the next
/// <c>$3</c> tasks in <c>$1</c> (a state) above the id <c>$2</c>, in id order through the (state, id) index. Each
/// batch is a statement of its own (its own transaction), so a million-row move never holds one giant transaction.
/// See docs/design.md#bulk-actions-are-set-based-moves-in-batches
/// </summary>
internal static class MatchingBatch
{
    public static async Task<List<T>> RunAsync<T>(
        NpgsqlDataSource dataSource, string template, TaskState state, Guid after, int limit, TaskFilter filter,
        object[] extra, Func<NpgsqlDataReader, T> read, CancellationToken ct)
    {
        var (conditions, values) = FilterSql.Conditions(filter, 4 + extra.Length);
        await using var cmd = dataSource.CreateCommand(string.Format(CultureInfo.InvariantCulture, template, conditions));
        cmd.Parameters.Add(new() { Value = TaskStates.NameOf(state) });
        cmd.Parameters.Add(new() { Value = after });
        cmd.Parameters.Add(new() { Value = limit });
        foreach (var value in extra.Concat(values)) cmd.Parameters.Add(new() { Value = value });
        var rows = new List<T>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) rows.Add(read(reader));
        return rows;
    }

    /// <summary>How many tasks in <paramref name="states"/> match the filter (a bulk action's dry run).</summary>
    public static async Task<long> CountAsync(NpgsqlDataSource dataSource, IReadOnlyList<TaskState> states, TaskFilter filter, CancellationToken ct)
    {
        var (conditions, values) = FilterSql.Conditions(filter, 2);
        await using var cmd = dataSource.CreateCommand("SELECT count(*) FROM tasks WHERE state = ANY($1)" + conditions);
        cmd.Parameters.Add(new() { Value = states.Select(TaskStates.NameOf).ToArray() });
        foreach (var value in values) cmd.Parameters.Add(new() { Value = value });
        return (long)(await cmd.ExecuteScalarAsync(ct))!;
    }
}
