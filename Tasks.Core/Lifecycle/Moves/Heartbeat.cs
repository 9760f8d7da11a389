using Npgsql;
using Tasks.Core.Monitoring;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Not a move: renews the lease of this worker's running tasks, and tells the worker which of them someone asked
/// to cancel and which are no longer its own (taken over, put back by the relay, finished, or gone). The worker's own
/// row (<see cref="WorkerBeat"/>) rides along when it is due: one round trip and one commit for both.
/// See docs/design.md#the-worker-heartbeat-rides-on-the-lease-renewal-issue-27
/// </summary>
public sealed class Heartbeat(NpgsqlDataSource dataSource)
{
    // Set-based and found by key (see ByKeyStatement).
    internal const string Sql =
        """
        -- Rows locked by someone (an outcome being recorded) are skipped, the rest locked in id order like
        -- every other many-row write here: no deadlock with a batch of successes.
        WITH l AS MATERIALIZED (
            SELECT u.id, u.state = 'running' AND u.worker = $2 AS mine
            FROM unnest($1::uuid[]) AS r(id) JOIN tasks u ON u.id = r.id
            ORDER BY u.id FOR UPDATE OF u SKIP LOCKED)
        UPDATE tasks t SET heartbeat_at = now()
        FROM l WHERE t.id = l.id AND l.mine
        RETURNING t.id, t.cancel_requested
        """;

    // Read without a lock (the last committed version), so a row skipped only because it was held isn't taken for lost.
    private const string LostSql =
        """
        SELECT r.id FROM unnest($1::uuid[]) AS r(id) LEFT JOIN tasks t ON t.id = r.id
        WHERE t.id IS NULL OR t.state <> 'running' OR t.worker IS DISTINCT FROM $2
        """;

    /// <summary>
    /// A task in neither list of the answer was held by someone for a moment (an outcome or a progress report being
    /// written): not renewed this time, not lost either. <paramref name="beat"/>, when given, is written in the same
    /// transaction (alone when nothing runs).
    /// </summary>
    public async Task<LeaseRenewal> RenewAsync(IReadOnlyCollection<Guid> running, string worker, WorkerBeat? beat, CancellationToken ct)
    {
        var renewed = new HashSet<Guid>();
        var canceled = new List<Guid>();
        if (running.Count == 0)
        {
            if (beat is not null) await BeatAsync(beat, ct);
            return new(renewed, canceled, []);
        }
        await using (var cmd = new ByKeyStatement(dataSource, Sql))
        {
            if (beat is not null) cmd.Before(beat.Command());
            cmd.Parameters.Add(new() { Value = running.ToArray() });
            cmd.Parameters.Add(new() { Value = worker });
            await using var reader = await cmd.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                renewed.Add(reader.GetGuid(0));
                if (reader.GetBoolean(1)) canceled.Add(reader.GetGuid(0));
            }
        }
        if (renewed.Count == running.Count) return new(renewed, canceled, []);
        return new(renewed, canceled, await FindLostAsync([.. running.Where(id => !renewed.Contains(id))], worker, ct));
    }

    /// <summary>The worker's row alone: no task to renew, or its last word (stopped).</summary>
    public async Task BeatAsync(WorkerBeat beat, CancellationToken ct)
    {
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(beat.Command());
        await batch.ExecuteNonQueryAsync(ct);
    }

    private async Task<List<Guid>> FindLostAsync(Guid[] notRenewed, string worker, CancellationToken ct)
    {
        var lost = new List<Guid>();
        await using var check = dataSource.CreateCommand(LostSql);
        check.Parameters.Add(new() { Value = notRenewed });
        check.Parameters.Add(new() { Value = worker });
        await using var reader = await check.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) lost.Add(reader.GetGuid(0));
        return lost;
    }
}
