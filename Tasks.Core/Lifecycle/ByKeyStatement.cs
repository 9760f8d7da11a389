using Npgsql;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// A statement that finds a set of tasks by primary key (an <c>unnest</c> of ids joined to <c>tasks</c>; any other
/// test is made on the rows once found, behind a <c>MATERIALIZED</c> fence), never with a plan made for a small table.
/// <para>
/// Npgsql prepares our statements, and after a few calls PostgreSQL keeps a prepared statement's generic plan until
/// the table is next analyzed. Made while the table was small (a fresh install, a burst after a quiet spell), that
/// plan scans the whole table, or all of an index, on every call once the table has grown: measured, claims took
/// 10 ms to 15 s each until autovacuum's next <c>ANALYZE</c>. Pinning the join methods does not help (on a small
/// table the planner then walks a whole index instead). So while the table is under 2 MB these statements are
/// planned afresh for the table as it is at each call (<c>plan_cache_mode = force_custom_plan</c>); past that, a
/// generic plan is made for a table that size, which looks rows up by key, and kept (<c>force_generic_plan</c>: left
/// to itself, PostgreSQL compares it with the cheap plans of the small table and goes on planning every call, a
/// sixth of its CPU per task, measured). The setting is transaction-local and sent in the same round trip.
/// </para>
/// </summary>
internal sealed class ByKeyStatement : IAsyncDisposable
{
    internal const string PinPlan =
        """
        SELECT set_config('plan_cache_mode',
            CASE WHEN pg_relation_size('tasks') < 2 * 1024 * 1024 THEN 'force_custom_plan' ELSE 'force_generic_plan' END, true)
        """;

    private readonly NpgsqlBatch _batch;
    private readonly NpgsqlBatchCommand _statement;

    public ByKeyStatement(NpgsqlDataSource dataSource, string sql)
    {
        _batch = dataSource.CreateBatch();
        _batch.BatchCommands.Add(new NpgsqlBatchCommand(PinPlan));
        _statement = new NpgsqlBatchCommand(sql);
        _batch.BatchCommands.Add(_statement);
    }

    public NpgsqlParameterCollection Parameters => _statement.Parameters;

    /// <summary>Runs it; the reader is on the statement's rows.</summary>
    public async Task<NpgsqlDataReader> ExecuteReaderAsync(CancellationToken ct)
    {
        var reader = await _batch.ExecuteReaderAsync(ct);
        try
        {
            // The statement's own error (a deadlock victim, a timeout) surfaces here, after Npgsql handed the reader
            // over: disposed here, or its pooled connection would never go back.
            await reader.NextResultAsync(ct);
            return reader;
        }
        catch
        {
            await reader.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs it; returns the rows it changed.</summary>
    public async Task<int> ExecuteNonQueryAsync(CancellationToken ct)
    {
        await using (var reader = await ExecuteReaderAsync(ct))
            while (await reader.NextResultAsync(ct)) { }
        return _statement.RecordsAffected;
    }

    public ValueTask DisposeAsync() => _batch.DisposeAsync();
}
