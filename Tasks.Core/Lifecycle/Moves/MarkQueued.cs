using Npgsql;
using Tasks.Core.Entities;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Marks published tasks <c>queued</c>, <paramref name="delay"/> after the call, together with every other
/// caller's (<see cref="WriteCoalescer{T}"/>); a task a worker has claimed by then is left alone.
/// </summary>
public sealed class MarkQueued(NpgsqlDataSource dataSource, TransientRetry retry, TimeSpan delay) : IAsyncDisposable
{
    // Only rows nobody wrote since their publish (same updated_at), and nobody holds now (SKIP LOCKED), are marked.
    // See docs/design.md#the-queued-mark-issue-24
    [Makes(nameof(TaskLifecycle.MarkQueued))]
    internal const string Sql =
        """
        WITH l AS MATERIALIZED (
            SELECT u.id, u.state = 'pending' AS markable
            FROM unnest($1::uuid[], $2::timestamptz[]) AS p(id, updated_at)
                 JOIN tasks u ON u.id = p.id AND u.updated_at = p.updated_at
            FOR UPDATE OF u SKIP LOCKED)
        UPDATE tasks t SET state = 'queued', updated_at = now()
        FROM l WHERE t.id = l.id AND l.markable
        """;

    private WriteCoalescer<(Guid Id, DateTimeOffset UpdatedAt)>? _queued;
    private object? _sync;

    /// <summary>
    /// Marks the records <c>queued</c> at once, and their rows a moment later. The returned task completes once the
    /// rows' mark is committed; nobody needs to wait for it (a row left <c>pending</c> is published again by the relay).
    /// </summary>
    public Task MarkAsync(IReadOnlyList<TaskRecord> tasks)
    {
        if (tasks.Count == 0) return Task.CompletedTask;
        var queued = LazyInitializer.EnsureInitialized(ref _queued, ref _sync,
            () => new WriteCoalescer<(Guid, DateTimeOffset)>(WriteAsync, maxItems: 100, linger: delay, retry: retry));
        var written = queued.WriteAsync([.. tasks.Select(t => (t.Id, t.UpdatedAt))]);
        foreach (var t in tasks)
            if (t.State == TaskState.Pending) t.State = TaskState.Queued;
        return written;
    }

    private async Task WriteAsync(List<(Guid Id, DateTimeOffset UpdatedAt)> tasks, CancellationToken ct)
    {
        await using var cmd = new ByKeyStatement(dataSource, Sql);
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.Id).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.UpdatedAt).ToArray() });
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public ValueTask DisposeAsync() => _queued?.DisposeAsync() ?? ValueTask.CompletedTask;
}
