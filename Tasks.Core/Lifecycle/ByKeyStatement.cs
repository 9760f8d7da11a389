using Npgsql;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// A statement that finds a set of tasks by primary key only (an <c>unnest</c> of ids joined to <c>tasks</c>; any
/// other test is made on the rows once found, behind a <c>MATERIALIZED</c> fence), planned as exactly that.
/// <para>
/// Left to itself the planner picks a sequential scan or a hash join while the table is small, and PostgreSQL keeps
/// that plan for a prepared statement (Npgsql prepares ours) until the next <c>ANALYZE</c> of the table. A table that
/// fills up in a burst is analyzed a minute later at best: until then, measured, every claim scanned the whole table
/// twice and throughput fell by two thirds. So join methods other than an index probe per id are switched off,
/// and the generic plan is used outright (no planning per call). The settings are transaction-local: they are
/// sent in the same round trip and end with the statement's own (implicit) transaction.
/// </para>
/// </summary>
internal sealed class ByKeyStatement : IAsyncDisposable
{
    internal const string PinPlan =
        """
        SELECT set_config('enable_seqscan', 'off', true), set_config('enable_hashjoin', 'off', true),
               set_config('enable_mergejoin', 'off', true), set_config('enable_material', 'off', true),
               set_config('plan_cache_mode', 'force_generic_plan', true)
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
        await reader.NextResultAsync(ct);
        return reader;
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
