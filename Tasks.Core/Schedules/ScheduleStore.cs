using Npgsql;
using Quartz;

namespace Tasks.Core.Schedules;

/// <summary>
/// Schedules in table <c>schedules</c> (definition, source, paused, cadence), fired by one Quartz trigger per
/// cadence (<see cref="Cadences"/>). A cadence's trigger is stored before the first schedule joins it and removed
/// after the last leaves, both under the cadence's advisory lock, so a stored schedule always has its trigger
/// (docs/design.md, "The beat", one trigger per cadence). The Web host works on Quartz's store through a scheduler
/// it never starts; the scheduler hosts fire the triggers.
/// </summary>
public sealed class ScheduleStore(ISchedulerFactory schedulers, NpgsqlDataSource database, TimeProvider clock)
{
    public const string Config = "config";
    public const string Api = "api";
    private const string Columns = "name, definition, source, paused, cadence";

    /// <summary>Every schedule, by name: one read of the table and one of their cadences' triggers, whatever their number.</summary>
    public async Task<IReadOnlyList<StoredSchedule>> ListAsync(CancellationToken ct)
    {
        var rows = await ReadAsync($"SELECT {Columns} FROM schedules ORDER BY name COLLATE \"C\"", null, ct);
        if (rows.Count == 0) return [];
        var scheduler = await schedulers.GetScheduler(ct);
        var triggers = (await scheduler.GetTriggers([.. rows.Select(r => Cadences.TriggerKey(r.Cadence)).Distinct()], ct)).ToDictionary(t => t.Key.Name);
        return [.. rows.Select(r => r.Stored(triggers.GetValueOrDefault(r.Cadence)))];
    }

    public async Task<StoredSchedule?> GetAsync(string name, CancellationToken ct)
    {
        if ((await ReadAsync($"SELECT {Columns} FROM schedules WHERE name = $1", name, ct)) is not [var row]) return null;
        var scheduler = await schedulers.GetScheduler(ct);
        return row.Stored(await scheduler.GetTrigger(Cadences.TriggerKey(row.Cadence), ct));
    }

    /// <summary>
    /// Stores a checked definition. Not <paramref name="replace"/>: a schedule of that name already stored throws
    /// <see cref="ObjectAlreadyExistsException"/>, and nothing is written. Stored paused when <paramref name="paused"/>.
    /// </summary>
    public Task SaveAsync(ScheduleDefinition schedule, string source, bool replace, bool paused, CancellationToken ct) =>
        RetryAsync(() => WriteAsync(schedule, source, replace, paused, ct), ct);

    private async Task<bool> WriteAsync(ScheduleDefinition schedule, string source, bool replace, bool paused, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var cadence = Cadences.Of(schedule);
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var before = replace ? await ScalarAsync<string>(connection, "SELECT cadence FROM schedules WHERE name = $1 FOR UPDATE", schedule.Name!, ct) : null;
        await LockAsync(connection, [cadence, before], ct);
        await Cadences.EnsureAsync(scheduler, schedule, clock, ct);
        await using var upsert = new NpgsqlCommand(
            """
            INSERT INTO schedules (name, definition, source, paused, cadence) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, source = excluded.source, paused = excluded.paused,
                cadence = excluded.cadence, since = CASE WHEN schedules.cadence = excluded.cadence THEN schedules.since ELSE now() END
            WHERE $6
            """, connection) { Parameters = { new() { Value = schedule.Name }, new() { Value = schedule.ToJson() }, new() { Value = source }, new() { Value = paused }, new() { Value = cadence }, new() { Value = replace } } };
        if (await upsert.ExecuteNonQueryAsync(ct) == 0) throw new ObjectAlreadyExistsException($"A schedule named '{schedule.Name}' already exists.");
        if (before is not null && before != cadence) await DropIfUnusedAsync(connection, scheduler, before, ct);
        await transaction.CommitAsync(ct);
        return true;
    }

    public Task<bool> DeleteAsync(string name, CancellationToken ct) => RetryAsync(() => RemoveAsync(name, ct), ct);

    private async Task<bool> RemoveAsync(string name, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (await ScalarAsync<string>(connection, "DELETE FROM schedules WHERE name = $1 RETURNING cadence", name, ct) is not { } cadence) return false;
        await LockAsync(connection, [cadence], ct);
        await DropIfUnusedAsync(connection, scheduler, cadence, ct);
        await transaction.CommitAsync(ct);
        return true;
    }

    public Task PauseAsync(string name, CancellationToken ct) => SetPausedAsync(name, true, ct);
    public Task ResumeAsync(string name, CancellationToken ct) => SetPausedAsync(name, false, ct);

    private async Task SetPausedAsync(string name, bool paused, CancellationToken ct)
    {
        await using var command = database.CreateCommand("UPDATE schedules SET paused = $2 WHERE name = $1");
        command.Parameters.Add(new() { Value = name });
        command.Parameters.Add(new() { Value = paused });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>What a cadence's fire at <paramref name="fireTime"/> enqueues: its schedules not paused that had joined it by then.</summary>
    public async Task<List<ScheduleDefinition>> DueAsync(string cadence, DateTimeOffset fireTime, CancellationToken ct)
    {
        await using var command = database.CreateCommand("SELECT definition FROM schedules WHERE cadence = $1 AND NOT paused AND since <= $2 ORDER BY name COLLATE \"C\"");
        command.Parameters.Add(new() { Value = cadence });
        command.Parameters.Add(new() { Value = fireTime });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var due = new List<ScheduleDefinition>();
        while (await reader.ReadAsync(ct)) due.Add(ScheduleDefinition.FromJson(reader.GetString(0)));
        return due;
    }

    /// <summary>
    /// Makes Quartz's cadences match the table: a trigger for each cadence in use, none for one no schedule uses.
    /// Run by each scheduler at start-up and now and then; it mends what a failure between the two stores left.
    /// </summary>
    public async Task SyncCadencesAsync(CancellationToken ct)
    {
        // A schedule whose cadence is not the one its definition has (moved from the old store, or cadences'
        // naming changed) moves to its own, as a save would move it.
        foreach (var moved in (await ReadAsync($"SELECT {Columns} FROM schedules", null, ct)).Where(r => r.Cadence != Cadences.Of(r.Definition)))
            await RetryAsync(() => MoveAsync(moved.Definition.Name!, ct), ct);
        var scheduler = await schedulers.GetScheduler(ct);
        var stored = (await scheduler.GetTriggerKeys(GroupMatcher<TriggerKey>.GroupEquals(Cadences.Group), ct)).Select(k => k.Name).ToHashSet();
        var used = (await ReadAsync($"SELECT DISTINCT ON (cadence) {Columns} FROM schedules ORDER BY cadence", null, ct)).ToDictionary(r => r.Cadence);
        foreach (var cadence in stored.Except(used.Keys).Concat(used.Keys.Except(stored)))
        {
            await using var connection = await database.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await LockAsync(connection, [cadence], ct);
            var member = await ScalarAsync<string>(connection, "SELECT definition FROM schedules WHERE cadence = $1 LIMIT 1", cadence, ct);
            if (member is null) await scheduler.DeleteJob(Cadences.JobKey(cadence), ct);
            else await Cadences.EnsureAsync(scheduler, ScheduleDefinition.FromJson(member), clock, ct);
            await transaction.CommitAsync(ct);
        }
    }

    // Puts a schedule on its definition's cadence, read again under the row's lock: a save meanwhile is not undone.
    private async Task<bool> MoveAsync(string name, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (await ScalarAsync<string>(connection, "SELECT definition FROM schedules WHERE name = $1 FOR UPDATE", name, ct) is not { } json) return false;
        var before = await ScalarAsync<string>(connection, "SELECT cadence FROM schedules WHERE name = $1", name, ct);
        var schedule = ScheduleDefinition.FromJson(json);
        var cadence = Cadences.Of(schedule);
        if (cadence == before) return true;
        await LockAsync(connection, [cadence, before], ct);
        await Cadences.EnsureAsync(scheduler, schedule, clock, ct);
        await using (var update = new NpgsqlCommand("UPDATE schedules SET cadence = $2, since = now() WHERE name = $1", connection)
            { Parameters = { new() { Value = name }, new() { Value = cadence } } })
            await update.ExecuteNonQueryAsync(ct);
        await DropIfUnusedAsync(connection, scheduler, before!, ct);
        await transaction.CommitAsync(ct);
        return true;
    }

    // The last schedule of a cadence gone: its job and trigger go too, unless another joined meanwhile.
    private static async Task DropIfUnusedAsync(NpgsqlConnection connection, IScheduler scheduler, string cadence, CancellationToken ct)
    {
        if (await ScalarAsync<bool>(connection, "SELECT EXISTS (SELECT FROM schedules WHERE cadence = $1)", cadence, ct)) return;
        await scheduler.DeleteJob(Cadences.JobKey(cadence), ct);
    }

    // A Quartz write racing a scheduler's fire of the same trigger can lose to it in the database (seen as a rare 500
    // on DELETE under load); our transaction rolled back with it, so the whole change is tried again.
    private static async Task<T> RetryAsync<T>(Func<Task<T>> write, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await write();
            }
            catch (JobPersistenceException e) when (e is not ObjectAlreadyExistsException && attempt < 3)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), ct);
            }
        }
    }

    // Transaction-scoped advisory locks on the cadences, taken in one order so two callers can't deadlock.
    private static async Task LockAsync(NpgsqlConnection connection, string?[] cadences, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "SELECT pg_advisory_xact_lock(1952544107, hashtext(c)) FROM (SELECT DISTINCT c FROM unnest($1::text[]) c WHERE c IS NOT NULL ORDER BY c) l", connection);
        command.Parameters.Add(new() { Value = cadences });
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<T?> ScalarAsync<T>(NpgsqlConnection connection, string sql, string parameter, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection) { Parameters = { new() { Value = parameter } } };
        return await command.ExecuteScalarAsync(ct) is T value ? value : default;
    }

    private async Task<List<Row>> ReadAsync(string sql, string? parameter, CancellationToken ct)
    {
        await using var command = database.CreateCommand(sql);
        if (parameter is not null) command.Parameters.Add(new() { Value = parameter });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var rows = new List<Row>();
        while (await reader.ReadAsync(ct))
            rows.Add(new(ScheduleDefinition.FromJson(reader.GetString(1)), reader.GetString(2), reader.GetBoolean(3), reader.GetString(4)));
        return rows;
    }

    private sealed record Row(ScheduleDefinition Definition, string Source, bool Paused, string Cadence)
    {
        public StoredSchedule Stored(ITrigger? trigger)
        {
            var next = Paused ? null : trigger?.NextFireTimeUtc;
            return new StoredSchedule(Definition, Source, Paused, next, next is null ? [] : Cadences.Upcoming(trigger!, next, 5));
        }
    }
}
