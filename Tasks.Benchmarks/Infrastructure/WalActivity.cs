using Npgsql;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>
/// The server's WAL so far (<c>pg_stat_wal</c>, the whole cluster: one scenario runs at a time). Per task it says
/// what durability costs beside CPU: how much is written, and how many flushes the commits shared (each fsync a
/// wait of milliseconds on a virtual disk). See docs/design.md#writes-that-dont-wait-for-the-wal-flush
/// </summary>
public sealed record WalActivity(long Records, long FullPages, long Bytes, long Syncs)
{
    public static async Task<WalActivity> ReadAsync(string connectionString)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT wal_records, wal_fpi, wal_bytes::bigint, wal_sync FROM pg_stat_wal", conn);
        await using var reader = await cmd.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new WalActivity(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
    }

    /// <summary>What was written from <paramref name="before"/> to this, per task, for the log.</summary>
    public string PerTask(WalActivity before, int tasks) =>
        $"WAL per task: {(Bytes - before.Bytes) / (double)tasks:0} bytes, {(Records - before.Records) / (double)tasks:0.0} records, "
        + $"{(FullPages - before.FullPages) / (double)tasks:0.00} full pages, {(Syncs - before.Syncs) / (double)tasks:0.000} fsyncs";
}
