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
    // clock (the relay compares it with now()), read back for the queued mark, with the ids inserted.
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
        ON CONFLICT (id) DO NOTHING RETURNING id)
        SELECT now(), ARRAY(SELECT id FROM i)
        """;

    // Of the ids that were there already, those still pending: a retry's own rows, or a repeated fire not run yet
    // (published again: nobody can tell whether their first publish happened). Asked only when an id was there.
    private const string PendingSql = "SELECT id FROM tasks WHERE id = ANY($1) AND state = 'pending'";

    // An insert doesn't wait behind another's commit: one slow flush would hold up every enqueue behind it (the
    // start p99's tail at half load). See docs/design.md#fifth-session-what-half-load-costs
    private const int InsertsUnderWay = 3;

    private WriteCoalescer<Row>? _inserts;
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

    /// <summary>
    /// Stores started tasks with other callers'; returns once their rows are committed, with those it inserted
    /// (<see cref="Inserted.New"/>) and those to publish (<see cref="Inserted.ToPublish"/>). A task whose id was
    /// there already (a fire enqueued before) is neither new nor, unless still pending, published again.
    /// </summary>
    public async Task<Inserted> InsertAsync(IReadOnlyList<TaskRecord> tasks)
    {
        var rows = tasks.Select(t => new Row(t)).ToList();
        await LazyInitializer.EnsureInitialized(ref _inserts, ref _sync,
                () => new WriteCoalescer<Row>(WriteAsync, maxItems: 5000, retry: retry, concurrency: InsertsUnderWay))
            .WriteAsync(rows);
        return new([.. rows.Where(r => r.New).Select(r => r.Task)], [.. rows.Where(r => r.New || r.Pending).Select(r => r.Task)]);
    }

    public sealed record Inserted(List<TaskRecord> New, List<TaskRecord> ToPublish);

    private sealed class Row(TaskRecord task)
    {
        public TaskRecord Task { get; } = task;
        public bool New { get; set; }
        public bool Pending { get; set; }
    }

    private async Task WriteAsync(List<Row> rows, CancellationToken ct)
    {
        var tasks = rows.ConvertAll(r => r.Task);
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
        DateTimeOffset now;
        HashSet<Guid> inserted;
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            await reader.ReadAsync(ct);
            (now, inserted) = (reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<Guid[]>(1).ToHashSet());
        }
        var there = rows.Where(r => !inserted.Contains(r.Task.Id)).Select(r => r.Task.Id).ToArray();
        HashSet<Guid> pending = there.Length == 0 ? [] : await PendingAsync(there, ct);
        foreach (var r in rows)
        {
            r.Task.UpdatedAt = now;
            (r.New, r.Pending) = (inserted.Contains(r.Task.Id), pending.Contains(r.Task.Id));
        }
    }

    private async Task<HashSet<Guid>> PendingAsync(Guid[] ids, CancellationToken ct)
    {
        await using var cmd = dataSource.CreateCommand(PendingSql);
        cmd.Parameters.Add(new() { Value = ids });
        var pending = new HashSet<Guid>();
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) pending.Add(reader.GetGuid(0));
        return pending;
    }

    private static NpgsqlParameter Nullable(List<DateTimeOffset?> values) =>
        new() { Value = values.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz };

    public ValueTask DisposeAsync() => _inserts?.DisposeAsync() ?? ValueTask.CompletedTask;
}
