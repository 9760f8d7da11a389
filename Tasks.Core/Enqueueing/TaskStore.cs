using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;
using Tasks.Core.Lifecycle.Moves;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Stores started task records: a repeat (the same id, or the same caller's idempotency key) returns the earlier
/// task; an idempotency key reused for another task is a conflict, and nothing is stored.
/// </summary>
public sealed class TaskStore(TasksDbContext db, TaskStateMachine lifecycle, TasksTelemetry telemetry)
{
    /// <summary>
    /// <see cref="All"/>: each record's task, its earlier one for a repeat. <see cref="Fresh"/>: those to publish.
    /// <see cref="Repeated"/>: the ids of tasks that were there already, not stored again.
    /// </summary>
    public sealed record Stored(List<TaskRecord> All, List<TaskRecord> Fresh, Dictionary<string, string[]> Conflicts)
    {
        public IReadOnlySet<Guid> Repeated { get; init; } = new HashSet<Guid>();
    }

    public async Task<Stored> StoreAsync(List<TaskRecord> records, HashSet<Guid> requestedIds, string errorPrefix, CancellationToken ct)
    {
        // Only a caller-given id or an idempotency key can name an existing task; a fresh UUIDv7 can't, so the
        // common enqueue skips the look-up (one round trip fewer). A race on either still ends in the retry below.
        // Nor can a schedule fire's derived id name another task than its own: ON CONFLICT DO NOTHING finds it.
        var canRepeat = records.Exists(r => r.IdempotencyKey is not null || (requestedIds.Contains(r.Id) && !IsFireId(r)));
        if (!canRepeat && db.Database.CurrentTransaction is null && System.Transactions.Transaction.Current is null
            && !db.ChangeTracker.HasChanges())
        {
            var inserted = await InsertWithOthersAsync(records, ct);
            return new(records, inserted.ToPublish, new Dictionary<string, string[]>())
            {
                Repeated = records.Select(r => r.Id).Except(inserted.New.Select(r => r.Id)).ToHashSet(),
            };
        }
        for (var round = 0; ; round++)
        {
            var found = canRepeat || round > 0 ? await FindAsync(records, ct) : [];
            var (earlier, conflicts) = MatchRepeats(records, found, errorPrefix);
            if (conflicts.Count > 0) return new([], [], conflicts);
            var fresh = records.Where((_, i) => earlier[i] is null).ToList();
            db.Tasks.AddRange(fresh);
            try
            {
                await db.SaveChangesAsync(ct);
                foreach (var t in fresh) telemetry.Enqueued(t.Name, t.Queue);
                return new([.. records.Select((r, i) => earlier[i] ?? r)], fresh, conflicts)
                {
                    Repeated = earlier.OfType<TaskRecord>().Select(e => e.Id).ToHashSet(),
                };
            }
            catch (DbUpdateException e) when (round == 0 && e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
            {
                // Someone stored the same idempotency key or id between our look-up and our insert: theirs wins.
                db.ChangeTracker.Clear();
            }
        }
    }

    // Nothing to look up, no caller's transaction or unsaved changes to go with: stored with other callers' tasks
    // in one statement (the lifecycle's enqueue move). Only the rows it inserted are counted: a repeated fire isn't.
    private async Task<Enqueue.Inserted> InsertWithOthersAsync(List<TaskRecord> records, CancellationToken ct)
    {
        Enqueue.Inserted inserted;
        using (var activity = TasksTelemetry.Source.StartActivity("task.store"))
        {
            activity?.SetTag("task.count", records.Count);
            inserted = await lifecycle.Enqueue.InsertAsync(records).WaitAsync(ct);
        }
        foreach (var t in inserted.New) telemetry.Enqueued(t.Name, t.Queue);
        return inserted;
    }

    // The id a schedule's fire derives from its schedule and time (docs/design.md, "The beat", the cost of a fire).
    private static bool IsFireId(TaskRecord r) =>
        r is { ScheduleName: { } schedule, ScheduledFireTime: { } time } && r.Id == Schedules.FireIds.For(schedule, time);

    private Task<List<TaskRecord>> FindAsync(List<TaskRecord> records, CancellationToken ct)
    {
        var ids = records.Select(r => r.Id).ToList();
        var keys = records.Where(r => r.IdempotencyKey is not null).Select(r => r.IdempotencyKey!).Distinct().ToList();
        return db.Tasks.AsNoTracking()
            .Where(t => ids.Contains(t.Id) || (t.IdempotencyKey != null && keys.Contains(t.IdempotencyKey)))
            .ToListAsync(ct);
    }

    /// <summary>
    /// Each record's earlier task (null: new), checked before anything is tracked, so a conflict stores nothing and
    /// leaves the caller's own unsaved changes alone. An idempotency key belongs to the API key that used it.
    /// </summary>
    private static (TaskRecord?[] Earlier, Dictionary<string, string[]> Conflicts) MatchRepeats(
        List<TaskRecord> records, List<TaskRecord> found, string errorPrefix)
    {
        var byId = found.ToDictionary(t => t.Id);
        var byKey = found.Where(t => t.IdempotencyKey is not null).ToDictionary(t => (t.ApiKeyId, t.IdempotencyKey!));
        var earlier = new TaskRecord?[records.Count];
        var conflicts = new Dictionary<string, string[]>(StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            var e = byId.GetValueOrDefault(r.Id);
            if (e is null && r.IdempotencyKey is { } key)
            {
                if (!byKey.TryGetValue((r.ApiKeyId, key), out e)) byKey[(r.ApiKeyId, key)] = r;
                else if (!SameTask(e, r))
                    conflicts[string.Format(CultureInfo.InvariantCulture, errorPrefix, i) + "idempotencyKey"] =
                        [$"idempotencyKey '{key}' was already used for task {e.Id} ({e.Name}) with other args; a repeat must ask for the same task and args."];
            }
            if (e is null) byId[r.Id] = r;
            earlier[i] = e;
        }
        return (earlier, conflicts);
    }

    // The same task asked for again: same name and the same args (as JSON values; jsonb gives them back reformatted).
    private static bool SameTask(TaskRecord earlier, TaskRecord repeat)
    {
        if (!string.Equals(earlier.Name, repeat.Name, StringComparison.Ordinal)) return false;
        using var a = JsonDocument.Parse(earlier.Args);
        using var b = JsonDocument.Parse(repeat.Args);
        return JsonElement.DeepEquals(a.RootElement, b.RootElement);
    }
}
