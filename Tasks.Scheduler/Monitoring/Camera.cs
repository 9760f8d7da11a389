using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Tasks.Core.Data;
using Tasks.Core.Lifecycle;
using Tasks.Core.Monitoring;
using Tasks.Core.Queries;

namespace Tasks.Scheduler.Monitoring;

/// <summary>
/// Takes the snapshot of one interval slot: workers from their heartbeat rows, task counts from
/// <c>task_state_counts</c>, per-name figures from the difference of the workers' cumulative stats since the previous
/// snapshot, queues from RabbitMQ, the outbox by index look-ups; then opens and ends alerts in the same transaction.
/// Its cost doesn't grow with the tasks table (docs/design.md, "The camera").
/// </summary>
public sealed partial class Camera(
    TasksDbContext db, TaskQueries tasks, NpgsqlDataSource database, RabbitManagement rabbit,
    IOptions<MonitorOptions> options, TimeProvider clock, ILogger<Camera> logger)
{
    /// <summary>Stores the snapshot of <paramref name="slot"/>; false when one was already stored for it.</summary>
    public async Task<bool> TakeAsync(DateTimeOffset slot, CancellationToken ct)
    {
        var watch = Stopwatch.StartNew();
        var now = clock.GetUtcNow();
        var previous = await db.MonitorSnapshots.AsNoTracking().Where(s => s.At <= slot).OrderByDescending(s => s.At)
            .Select(s => new { s.At, s.Queues, s.Baseline }).FirstOrDefaultAsync(ct);
        if (previous?.At == slot)
        {
            LogAlreadyTaken(logger, slot);
            return false;
        }

        var workers = await db.Workers.AsNoTracking().ToListAsync(ct);
        var figures = workers.Select(w => new WorkerFigures(w.Name, WorkerStates.NameOf(WorkerStates.Of(w, now)), w.Running.Length,
            w.Processed, w.Succeeded, w.Failed, w.Retried, w.StartedAt, w.HeartbeatAt)).OrderBy(w => w.Name, StringComparer.Ordinal).ToList();
        var baseline = workers.ToDictionary(w => w.Name,
            w => new WorkerBaseline(w.StartedAt, MonitorJson.Read<Dictionary<string, TaskNameStats>>(w.Stats)), StringComparer.Ordinal);
        var before = previous is null ? [] : MonitorJson.Read<Dictionary<string, WorkerBaseline>>(previous.Baseline);
        var names = StatsDelta.Between(baseline.Select(b => (b.Key, b.Value)), before);
        var states = (await tasks.CountByStateAsync(ct)).ToDictionary(s => TaskStateMachine.NameOf(s.Key), s => s.Value);
        var (oldestPending, overdue) = await ReadTasksAsync(ct);
        var (queues, brokerError) = await ReadQueuesAsync(ct);

        var snapshot = new Core.Entities.MonitorSnapshot
        {
            At = slot,
            IntervalSeconds = previous is null ? options.Value.SnapshotSeconds : (slot - previous.At).TotalSeconds,
            WorkersOnline = figures.Count(w => w.State == "online"),
            WorkersOffline = figures.Count(w => w.State == "offline"),
            WorkersStopped = figures.Count(w => w.State == "stopped"),
            Started = names.Values.Sum(n => n.Started),
            Succeeded = names.Values.Sum(n => n.Succeeded),
            Failed = names.Values.Sum(n => n.Failed),
            Retried = names.Values.Sum(n => n.Retried),
            OutboxPending = states.GetValueOrDefault("pending"),
            OutboxOldestSeconds = oldestPending,
            Scheduled = states.GetValueOrDefault("scheduled"),
            Workers = MonitorJson.Write(figures),
            States = MonitorJson.Write(states),
            Names = MonitorJson.Write(names),
            Queues = MonitorJson.Write(queues),
            Baseline = MonitorJson.Write(baseline),
        };

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var open = await db.MonitorAlerts.Where(a => a.EndedAt == null).Select(a => new { a.Id, a.Kind, a.Subject }).ToListAsync(ct);
        var wanted = AlertRules.Evaluate(new AlertRules.Inputs(figures, queues,
            previous is null ? null : MonitorJson.Read<Dictionary<string, QueueFigures>>(previous.Queues),
            names, overdue, oldestPending, brokerError, open.Select(a => (a.Kind, a.Subject)).ToHashSet()), options.Value);
        snapshot.DurationMs = watch.Elapsed.TotalMilliseconds;
        if (!await InsertAsync(snapshot, ct))
        {
            LogAlreadyTaken(logger, slot); // another scheduler stored this slot meanwhile: the rollback drops nothing of ours
            return false;
        }
        var ended = open.Where(a => !wanted.ContainsKey((a.Kind, a.Subject))).ToList();
        var raised = wanted.Where(w => !open.Exists(a => a.Kind == w.Key.Kind && a.Subject == w.Key.Subject)).ToList();
        var endedIds = ended.Select(a => a.Id).ToArray();
        await db.MonitorAlerts.Where(a => endedIds.Contains(a.Id)).ExecuteUpdateAsync(a => a.SetProperty(x => x.EndedAt, slot), ct);
        foreach (var ((kind, subject), detail) in raised)
            await db.Database.ExecuteSqlAsync(
                $"INSERT INTO monitor_alerts (kind, subject, started_at, detail) VALUES ({kind}, {subject}, {slot}, {detail}) ON CONFLICT (kind, subject) WHERE ended_at IS NULL DO NOTHING", ct);
        await transaction.CommitAsync(ct);

        foreach (var ((kind, subject), detail) in raised) LogRaised(logger, kind, subject, detail);
        foreach (var a in ended) LogEnded(logger, a.Kind, a.Subject);
        LogTaken(logger, slot, watch.Elapsed.TotalMilliseconds, figures.Count, names.Count, queues.Count);
        return true;
    }

    private async Task<bool> InsertAsync(Core.Entities.MonitorSnapshot s, CancellationToken ct) =>
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO monitor_snapshots (at, interval_seconds, duration_ms, workers_online, workers_offline, workers_stopped,
                started, succeeded, failed, retried, outbox_pending, outbox_oldest_seconds, scheduled, workers, states, names, queues, baseline)
            VALUES ({s.At}, {s.IntervalSeconds}, {s.DurationMs}, {s.WorkersOnline}, {s.WorkersOffline}, {s.WorkersStopped},
                {s.Started}, {s.Succeeded}, {s.Failed}, {s.Retried}, {s.OutboxPending}, {s.OutboxOldestSeconds}, {s.Scheduled},
                {Json(s.Workers)}, {Json(s.States)}, {Json(s.Names)}, {Json(s.Queues)}, {Json(s.Baseline)})
            ON CONFLICT (at) DO NOTHING
            """, ct) == 1;

    private static NpgsqlParameter Json(string value) => new() { Value = value, NpgsqlDbType = NpgsqlDbType.Jsonb };

    /// <summary>The oldest pending task's age in seconds: the first entry of the partial index <c>ix_tasks_pending</c>.</summary>
    public const string OldestPendingSql = "SELECT extract(epoch FROM now() - min(updated_at))::float8 FROM tasks WHERE state = 'pending'";

    /// <summary>Tasks running past their time limit, through the partial index <c>ix_tasks_running</c> (running tasks only).</summary>
    public const string OverdueSql =
        """
        SELECT id, name, worker FROM tasks
        WHERE state = 'running' AND started_at < now() - make_interval(secs => time_limit_seconds)
        ORDER BY heartbeat_at LIMIT 100
        """;

    /// <summary>
    /// The oldest pending task's age (the first entry of <c>ix_tasks_pending</c>) and the tasks running past their
    /// time limit (from <c>ix_tasks_running</c>, which holds only running tasks): index look-ups, whatever the table's size.
    /// </summary>
    private async Task<(double? OldestPending, List<(Guid, string, string?)> Overdue)> ReadTasksAsync(CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(new(OldestPendingSql));
        batch.BatchCommands.Add(new(OverdueSql));
        await using var reader = await batch.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        double? oldest = reader.IsDBNull(0) ? null : reader.GetDouble(0);
        await reader.NextResultAsync(ct);
        var overdue = new List<(Guid, string, string?)>();
        while (await reader.ReadAsync(ct)) overdue.Add((reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2)));
        return (oldest, overdue);
    }

    /// <summary>The queues, or none and why (for the alert) when the management API didn't answer with them.</summary>
    private async Task<(Dictionary<string, QueueFigures> Queues, string? Error)> ReadQueuesAsync(CancellationToken ct)
    {
        try
        {
            return (await rabbit.QueuesAsync(ct), null);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException && !ct.IsCancellationRequested)
        {
            LogQueuesFailed(logger, e); // the snapshot goes on without its queues
            return ([], $"{rabbit.Endpoint}: {e.Message}");
        }
    }

    [LoggerMessage(LogLevel.Warning, "Alert {Kind} raised for {Subject}: {Detail}")]
    private static partial void LogRaised(ILogger logger, string kind, string subject, string detail);

    [LoggerMessage(LogLevel.Information, "Alert {Kind} for {Subject} ended")]
    private static partial void LogEnded(ILogger logger, string kind, string subject);

    [LoggerMessage(LogLevel.Debug, "Snapshot {Slot:O} taken in {Milliseconds:F1} ms: {Workers} workers, {Names} task names, {Queues} queues")]
    private static partial void LogTaken(ILogger logger, DateTimeOffset slot, double milliseconds, int workers, int names, int queues);

    [LoggerMessage(LogLevel.Information, "Snapshot {Slot:O} was already taken: this fire stores nothing")]
    private static partial void LogAlreadyTaken(ILogger logger, DateTimeOffset slot);

    [LoggerMessage(LogLevel.Warning, "Reading the queues from RabbitMQ's management API failed; the snapshot has none")]
    private static partial void LogQueuesFailed(ILogger logger, Exception e);
}
