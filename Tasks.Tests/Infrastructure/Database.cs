using Npgsql;

namespace Tasks.Tests.Infrastructure;

public static class Database
{
    public static async Task<long> CountAsync(this TasksStack stack, string where, params object[] args)
    {
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand($"SELECT count(*) FROM {where}");
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    public static async Task ExecuteAsync(this TasksStack stack, string sql, params object[] args)
    {
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand(sql);
        foreach (var a in args) cmd.Parameters.Add(new NpgsqlParameter { Value = a });
        await cmd.ExecuteNonQueryAsync();
    }
}
