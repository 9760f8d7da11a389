using Npgsql;

namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// Tasks the broker refused, inside the relay's transaction (<see cref="Release"/>): back to <c>pending</c>, each
/// tried again after its own back-off (doubling from <see cref="ReleaseSettings.PublishBackoff"/>), or <c>failed</c>
/// with the broker's reason after <see cref="ReleaseSettings.MaxPublishAttempts"/> refusals in a row. A nack (a full
/// queue) is not charged: the task only waits one back-off.
/// </summary>
public static class RefusePublish
{
    // The rows are the relay transaction's (locked): the state test only says which they are.
    [Makes(nameof(TaskLifecycle.RefusePublish))]
    internal const string Sql =
        """
        UPDATE tasks t SET publish_attempts = coalesce(t.publish_attempts, 0) + 1, error = r.reason,
            updated_at = clock_timestamp(),
            state = CASE WHEN coalesce(t.publish_attempts, 0) + 1 >= $3 THEN 'failed' ELSE 'pending' END,
            finished_at = CASE WHEN coalesce(t.publish_attempts, 0) + 1 >= $3 THEN clock_timestamp() END,
            publish_after = CASE WHEN coalesce(t.publish_attempts, 0) + 1 < $3
                                 THEN clock_timestamp() + $4::interval * power(2, least(coalesce(t.publish_attempts, 0), 16)) END
        FROM unnest($1::uuid[], $2::text[]) AS r(id, reason)
        WHERE t.id = r.id AND t.state IN ('pending', 'queued')
        RETURNING t.id, t.publish_attempts, t.state = 'failed', t.publish_after - clock_timestamp()
        """;

    // Nacked: tried again after one back-off, uncharged, so a full queue neither fails its tasks nor keeps the head
    // of every round (the rows are the oldest) from the other queues' tasks.
    internal const string DeferSql = "UPDATE tasks SET publish_after = clock_timestamp() + $2::interval WHERE id = ANY($1)";

    /// <summary>Returns the charged refusals as recorded, and the uncharged ones deferred.</summary>
    public static async Task<(IReadOnlyList<RefusedPublish> Refused, IReadOnlyList<PublishRefusal> Deferred)> RecordAsync(
        NpgsqlConnection conn, NpgsqlTransaction tx, IReadOnlyList<PublishRefusal> refusals, ReleaseSettings settings, CancellationToken ct)
    {
        var charged = refusals.Where(r => r.Charged).ToList();
        IReadOnlyList<RefusedPublish> refused = charged.Count == 0 ? [] : await ChargeAsync(new NpgsqlCommand(Sql, conn, tx), charged, settings, ct);
        var deferred = refusals.Where(r => !r.Charged).ToList();
        if (deferred.Count > 0)
        {
            await using var defer = new NpgsqlCommand(DeferSql, conn, tx);
            defer.Parameters.Add(new() { Value = deferred.Select(r => r.Task.Id).Distinct().ToArray() });
            defer.Parameters.Add(new() { Value = settings.PublishBackoff });
            await defer.ExecuteNonQueryAsync(ct);
        }
        return (refused, deferred);
    }

    private static async Task<List<RefusedPublish>> ChargeAsync(
        NpgsqlCommand cmd, List<PublishRefusal> refusals, ReleaseSettings settings, CancellationToken ct)
    {
        await using var command = cmd;
        var byId = refusals.ToDictionary(r => r.Task.Id);
        cmd.Parameters.Add(new() { Value = byId.Keys.ToArray() });
        cmd.Parameters.Add(new() { Value = byId.Values.Select(r => StoredText.Truncate(r.Reason, 2000)).ToArray() });
        cmd.Parameters.Add(new() { Value = settings.MaxPublishAttempts });
        cmd.Parameters.Add(new() { Value = settings.PublishBackoff });
        var refused = new List<RefusedPublish>(byId.Count);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var refusal = byId[reader.GetGuid(0)];
            refused.Add(new RefusedPublish(refusal.Task, refusal.Reason, reader.GetInt32(1), reader.GetBoolean(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<TimeSpan>(3)));
        }
        return refused;
    }
}
