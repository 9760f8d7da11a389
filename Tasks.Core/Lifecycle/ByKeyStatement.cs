using Npgsql;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// A statement that finds a set of tasks by primary key, never with a plan made for a small table: sent with a
/// transaction-local <c>plan_cache_mode</c> chosen by the table's size, in the same round trip.
/// See docs/design.md#plans-by-key-bykeystatement
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
    private int _before = 1; // the plan pin

    public ByKeyStatement(NpgsqlDataSource dataSource, string sql)
    {
        _batch = dataSource.CreateBatch();
        _batch.BatchCommands.Add(new NpgsqlBatchCommand(PinPlan));
        _statement = new NpgsqlBatchCommand(sql);
        _batch.BatchCommands.Add(_statement);
    }

    public NpgsqlParameterCollection Parameters => _statement.Parameters;

    /// <summary>Sends <paramref name="command"/> ahead of the statement, in the same round trip and transaction.</summary>
    public void Before(NpgsqlBatchCommand command) => _batch.BatchCommands.Insert(_before++, command);

    /// <summary>Runs it; the reader is on the statement's rows.</summary>
    public async Task<NpgsqlDataReader> ExecuteReaderAsync(CancellationToken ct)
    {
        var reader = await _batch.ExecuteReaderAsync(ct);
        try
        {
            // The statement's own error (a deadlock victim, a timeout) surfaces here, after Npgsql handed the reader
            // over: disposed here, or its pooled connection would never go back.
            for (var i = 0; i < _before; i++) await reader.NextResultAsync(ct);
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
