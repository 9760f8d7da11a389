using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using Tasks.Core.Data;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Records an attempt's success, if the attempt still holds the task: in the handler's own transaction when it
/// used the database, or else with other attempts' successes in one statement (<see cref="WriteCoalescer{T}"/>).
/// </summary>
public sealed class Succeed(NpgsqlDataSource dataSource, TimeProvider clock, TransientRetry retry) : IAsyncDisposable
{
    // Set-based and found by key (see ByKeyStatement); rows locked in id order, like every many-row write.
    [Makes(nameof(TaskLifecycle.Succeed))]
    internal const string Sql =
        """
        WITH l AS MATERIALIZED (
            SELECT u.id, s.result, u.state = 'running' AND u.attempts = s.attempt AS held
            FROM unnest($1::uuid[], $2::int[], $3::text[]) AS s(id, attempt, result) JOIN tasks u ON u.id = s.id
            ORDER BY u.id FOR UPDATE OF u)
        UPDATE tasks t SET state = 'succeeded', result = l.result::jsonb, error = NULL, error_details = NULL,
            finished_at = $4, updated_at = $4, cancel_requested = false
        FROM l WHERE t.id = l.id AND l.held
        RETURNING t.id
        """;

    // EF Core's placeholders: {0} id, {1} attempt, {2} result, {3} now.
    [Makes(nameof(TaskLifecycle.Succeed))]
    internal const string InTransactionSql =
        """
        UPDATE tasks SET state = 'succeeded', result = {2}::jsonb, error = NULL, error_details = NULL,
            finished_at = {3}, updated_at = {3}, cancel_requested = false
        WHERE id = {0} AND state = 'running' AND attempts = {1}
        """;

    private WriteCoalescer<Success>? _successes;
    private object? _sync;

    /// <summary>For an attempt whose handler wrote nothing to the database. Returns whether it still held the task.</summary>
    public async Task<bool> SucceedAsync(ClaimedTask task, string? resultJson)
    {
        var successes = LazyInitializer.EnsureInitialized(ref _successes, ref _sync,
            () => new WriteCoalescer<Success>(WriteAsync, maxItems: 1000, retry: retry));
        var success = new Success(task.Id, task.Attempt, resultJson);
        await successes.WriteAsync([success]);
        return await success.Recorded.Task;
    }

    /// <summary>Inside the handler's own transaction, so it commits with the handler's work.</summary>
    public async Task<bool> SucceedAsync(TasksDbContext db, ClaimedTask task, string? resultJson, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        return await db.Database.ExecuteSqlRawAsync(InTransactionSql, [task.Id, task.Attempt, resultJson!, now], ct) == 1;
    }

    private sealed record Success(Guid Id, int Attempt, string? ResultJson)
    {
        public TaskCompletionSource<bool> Recorded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private async Task WriteAsync(List<Success> successes, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        successes.Sort((a, b) => a.Id.CompareTo(b.Id));
        var recorded = new HashSet<Guid>();
        await using (var cmd = new ByKeyStatement(dataSource, Sql))
        {
            cmd.Parameters.Add(new() { Value = successes.ConvertAll(c => c.Id).ToArray() });
            cmd.Parameters.Add(new() { Value = successes.ConvertAll(c => c.Attempt).ToArray() });
            cmd.Parameters.Add(new() { Value = successes.ConvertAll(c => c.ResultJson).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            cmd.Parameters.Add(new() { Value = now });
            try
            {
                await using var reader = await cmd.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct)) recorded.Add(reader.GetGuid(0));
            }
            catch (Exception)
            {
                recorded.Clear(); // the statement rolled back; the coalescer tries again or fails every caller
                throw;
            }
        }
        foreach (var c in successes) c.Recorded.TrySetResult(recorded.Contains(c.Id));
    }

    public ValueTask DisposeAsync() => _successes?.DisposeAsync() ?? ValueTask.CompletedTask;
}
