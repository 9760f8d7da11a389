using Npgsql;
using Tasks.Core.Schedules;

namespace Tasks.Scheduler.Beat;

/// <summary>
/// Makes the stored <c>config</c> schedules match the configuration before the scheduler starts: adds the new,
/// replaces the changed, removes those no longer listed. An unchanged schedule is left alone, so its trigger keeps
/// its next fire time (and a scheduler that was down meets its misfire policy). A bad entry stops the process. Then Quartz's cadences are made to match the schedules.
/// Schedulers starting together take turns, under a PostgreSQL advisory lock.
/// </summary>
public sealed partial class ScheduleReconciler(
    IConfiguration configuration, ScheduleValidator validator, ScheduleStore store, NpgsqlDataSource database, ILogger<ScheduleReconciler> logger) : IHostedService
{
    private const long LockKey = 0x7461736b73_01; // "tasks" + 1: this reconciliation only

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var wanted = new List<ScheduleDefinition>();
        var read = ConfiguredSchedules.Read(configuration, errors);
        for (var i = 0; i < read.Count; i++)
        {
            var fieldErrors = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (validator.Check(read[i], fieldErrors) is { } ok) wanted.Add(ok);
            foreach (var (field, messages) in fieldErrors) errors[$"{ConfiguredSchedules.Section}:{i}:{field}"] = messages;
        }
        foreach (var duplicate in wanted.GroupBy(s => s.Name).Where(g => g.Count() > 1))
            errors[ConfiguredSchedules.Section] = [$"Schedule '{duplicate.Key}' is listed more than once."];
        if (errors.Count > 0)
            throw new InvalidOperationException("Bad schedules in configuration: " + string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")));

        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The transaction id makes the commit below write WAL, so it waits for the flush, and carries the store's writes
        // made meanwhile (Quartz's, which don't wait: docs/design.md, "The beat") to disk before the scheduler starts.
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({LockKey}), pg_current_xact_id()", connection, transaction))
            await lockCommand.ExecuteNonQueryAsync(cancellationToken);

        var stored = (await store.ListAsync(cancellationToken)).ToDictionary(s => s.Definition.Name!, StringComparer.Ordinal);
        foreach (var schedule in wanted)
        {
            if (!stored.TryGetValue(schedule.Name!, out var existing))
            {
                await store.SaveAsync(schedule, ScheduleStore.Config, replace: false, paused: schedule.Enabled == false, cancellationToken);
                LogAdded(logger, schedule.Name!);
            }
            else if (existing.Source != ScheduleStore.Config || existing.Definition.ToJson() != schedule.ToJson())
            {
                // A pause made by hand (through the API) outlives a change of the definition; `enabled` decides otherwise.
                var pausedByHand = existing.Paused && existing.Definition.Enabled != false;
                await store.SaveAsync(schedule, ScheduleStore.Config, replace: true, paused: schedule.Enabled == false || pausedByHand, cancellationToken);
                LogChanged(logger, schedule.Name!, existing.Source);
            }
        }
        foreach (var gone in stored.Values.Where(s => s.Source == ScheduleStore.Config && !wanted.Exists(w => w.Name == s.Definition.Name)))
        {
            await store.DeleteAsync(gone.Definition.Name!, cancellationToken);
            LogRemoved(logger, gone.Definition.Name!);
        }
        await transaction.CommitAsync(cancellationToken);
        await store.SyncCadencesAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Information, "Schedule {Schedule} added from configuration")]
    private static partial void LogAdded(ILogger logger, string schedule);

    [LoggerMessage(LogLevel.Information, "Schedule {Schedule} changed to match configuration (was from {Source})")]
    private static partial void LogChanged(ILogger logger, string schedule, string source);

    [LoggerMessage(LogLevel.Information, "Schedule {Schedule} removed: no longer in configuration")]
    private static partial void LogRemoved(ILogger logger, string schedule);
}
