using Npgsql;
using NpgsqlTypes;
using Tasks.Core.Entities;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// A new task starts <c>pending</c>, or <c>scheduled</c> when it must wait for its time (<see cref="Start"/>). Tasks
/// that can't collide with anything (fresh ids, no idempotency key) and belong to no caller's transaction are
/// stored together: concurrent enqueues become one INSERT and one commit (<see cref="WriteCoalescer{T}"/>).
/// </summary>
public sealed class Enqueue(NpgsqlDataSource dataSource, TransientRetry retry) : IAsyncDisposable
{
    // Safe to repeat (the coalescer retries): rows a first try did commit are skipped. updated_at is the database's
    // clock (the relay compares it with now()), read back for the queued mark.
    [Makes(nameof(TaskLifecycle.Enqueue))]
    internal const string InsertSql =
        """
        WITH i AS (INSERT INTO tasks (id, name, queue, args, state, max_attempts, time_limit_seconds, backoff_seconds,
                           enqueued_at, updated_at, scheduled_for, expires_at, schedule_name, trace_parent,
                           api_key_id, scheduled_fire_time, attempts, attempts_base, cancel_requested)
        SELECT id, name, queue, args::jsonb, state, max_attempts, time_limit_seconds, backoff_seconds,
               enqueued_at, now(), scheduled_for, expires_at, schedule_name, trace_parent, api_key_id, scheduled_fire_time, 0, 0, false
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::float8[],
                    $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[], $13::text[], $14::uuid[], $15::timestamptz[])
            AS t(id, name, queue, args, state, max_attempts, time_limit_seconds, backoff_seconds,
                 enqueued_at, scheduled_for, expires_at, schedule_name, trace_parent, api_key_id, scheduled_fire_time)
        ON CONFLICT (id) DO NOTHING)
        SELECT now()
        """;

    private WriteCoalescer<TaskRecord>? _inserts;
    private object? _sync;

    /// <summary>Sets a new task's first state; whoever stores the record stores that state.</summary>
    public static void Start(TaskRecord task, DateTimeOffset now, DateTimeOffset? runAt)
    {
        task.EnqueuedAt = now; // UpdatedAt is the database's: stamped by the insert
        if (runAt is { } at && at > now)
        {
            task.State = TaskState.Scheduled;
            task.ScheduledFor = at;
        }
        else
        {
            task.State = TaskState.Pending;
        }
    }

    /// <summary>Stores started tasks with other callers'; returns once their rows are committed.</summary>
    public Task InsertAsync(IReadOnlyList<TaskRecord> tasks) =>
        LazyInitializer.EnsureInitialized(ref _inserts, ref _sync,
                () => new WriteCoalescer<TaskRecord>(WriteAsync, maxItems: 5000, retry: retry))
            .WriteAsync(tasks);

    private async Task WriteAsync(List<TaskRecord> tasks, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(InsertSql);
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.Id).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.Name).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.Queue).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.Args).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => TaskStates.NameOf(t.State)).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.MaxAttempts).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.TimeLimitSeconds).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.BackoffSeconds).ToArray() });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.EnqueuedAt).ToArray() });
        cmd.Parameters.Add(Nullable(tasks.ConvertAll(t => t.ScheduledFor)));
        cmd.Parameters.Add(Nullable(tasks.ConvertAll(t => t.ExpiresAt)));
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.ScheduleName).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.TraceParent).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        cmd.Parameters.Add(new() { Value = tasks.ConvertAll(t => t.ApiKeyId).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Uuid });
        cmd.Parameters.Add(Nullable(tasks.ConvertAll(t => t.ScheduledFireTime)));
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var now = reader.GetFieldValue<DateTimeOffset>(0);
        foreach (var t in tasks) t.UpdatedAt = now;
    }

    private static NpgsqlParameter Nullable(List<DateTimeOffset?> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };

    public ValueTask DisposeAsync() => _inserts?.DisposeAsync() ?? ValueTask.CompletedTask;
}
