using System.Text.Json.Nodes;
using Npgsql;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>
/// The settings of the PostgreSQL the run measured, read from the server itself (<c>pg_settings</c>): the figures
/// mean little without them, and a run without durability (<c>./dev bench --fast-unsafe</c>) must say so.
/// </summary>
public sealed record PostgresSettings(string Version, IReadOnlyDictionary<string, string> Settings)
{
    public static readonly string[] Names =
    [
        "fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers", "commit_delay",
        "commit_siblings", "max_connections", "wal_compression", "max_wal_size", "wal_sync_method",
    ];

    /// <summary>What users run: a committed write survives a crash of the server or the machine.</summary>
    public bool Durable => Is("fsync", "on") && Is("synchronous_commit", "on") && Is("full_page_writes", "on");

    private bool Is(string name, string value) => Settings.TryGetValue(name, out var v) && v == value;

    /// <summary>The server's settings, after applying <paramref name="set"/> (<c>ALTER SYSTEM</c>, then a reload) when given.</summary>
    public static async Task<PostgresSettings> ReadAsync(string connectionString, IReadOnlyDictionary<string, string> set)
    {
        await using var conn = new NpgsqlConnection(connectionString);
        await conn.OpenAsync();
        foreach (var (name, value) in set)
        {
            await using var alter = new NpgsqlCommand($"ALTER SYSTEM SET \"{name.Replace("\"", "", StringComparison.Ordinal)}\" = '{value.Replace("'", "''", StringComparison.Ordinal)}'", conn);
            await alter.ExecuteNonQueryAsync();
        }
        if (set.Count > 0)
        {
            await using var reload = new NpgsqlCommand("SELECT pg_reload_conf()", conn);
            await reload.ExecuteNonQueryAsync();
            await Task.Delay(500); // the postmaster signals its backends; new connections see it at once
            await using var fresh = new NpgsqlConnection(connectionString);
            await fresh.OpenAsync();
            return await ReadAsync(fresh);
        }
        return await ReadAsync(conn);
    }

    private static async Task<PostgresSettings> ReadAsync(NpgsqlConnection conn)
    {
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        // As SHOW prints them (units included: "128MB"), for the report.
        await using var cmd = new NpgsqlCommand("SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY($1)", conn);
        cmd.Parameters.Add(new() { Value = Names });
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) settings[reader.GetString(0)] = reader.GetString(1);
        return new PostgresSettings(conn.PostgreSqlVersion.ToString(), settings);
    }

    public JsonObject Json() => new()
    {
        ["version"] = Version,
        ["durable"] = Durable,
        ["settings"] = new JsonObject(Settings.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value))),
    };

    /// <summary>For the machine line: "PostgreSQL 15.18, durable (fsync on, ...)".</summary>
    public string Line() =>
        $"PostgreSQL {Version}, {(Durable ? "durable" : "NOT DURABLE (--fast-unsafe: figures for comparison only)")} " +
        $"({string.Join(", ", Settings.Select(p => $"{p.Key} {p.Value}"))})";
}
