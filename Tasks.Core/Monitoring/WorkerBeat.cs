using Npgsql;
using NpgsqlTypes;

namespace Tasks.Core.Monitoring;

/// <summary>
/// What one heartbeat writes to the worker's row (<see cref="Entities.WorkerRecord"/>): everything but the time, which
/// is the database's. <paramref name="Stopped"/> marks a clean stop; any other beat clears it (a restart under the
/// same name). See docs/design.md#the-worker-heartbeat-rides-on-the-lease-renewal-issue-27
/// </summary>
public sealed record WorkerBeat(
    string Name, string Host, int Pid, string Version, string QueuesJson, Guid[] Running,
    long Processed, long Succeeded, long Failed, long Retried, string StatsJson,
    DateTimeOffset StartedAt, int HeartbeatSeconds, bool Stopped)
{
    internal const string Sql =
        """
        INSERT INTO workers AS w (name, host, pid, version, queues, running, processed, succeeded, failed, retried, stats,
                                  started_at, heartbeat_at, heartbeat_seconds, stopped_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), $13, CASE WHEN $14 THEN now() END)
        ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, version = excluded.version,
            queues = excluded.queues, running = excluded.running, processed = excluded.processed,
            succeeded = excluded.succeeded, failed = excluded.failed, retried = excluded.retried, stats = excluded.stats,
            started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
            heartbeat_seconds = excluded.heartbeat_seconds, stopped_at = excluded.stopped_at
        """;

    /// <summary>The upsert, to send alone or in the lease renewal's batch.</summary>
    public NpgsqlBatchCommand Command()
    {
        var cmd = new NpgsqlBatchCommand(Sql);
        cmd.Parameters.Add(new() { Value = Name });
        cmd.Parameters.Add(new() { Value = Host });
        cmd.Parameters.Add(new() { Value = Pid });
        cmd.Parameters.Add(new() { Value = Version });
        cmd.Parameters.Add(new() { Value = QueuesJson, NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(new() { Value = Running });
        cmd.Parameters.Add(new() { Value = Processed });
        cmd.Parameters.Add(new() { Value = Succeeded });
        cmd.Parameters.Add(new() { Value = Failed });
        cmd.Parameters.Add(new() { Value = Retried });
        cmd.Parameters.Add(new() { Value = StatsJson, NpgsqlDbType = NpgsqlDbType.Jsonb });
        cmd.Parameters.Add(new() { Value = StartedAt });
        cmd.Parameters.Add(new() { Value = HeartbeatSeconds });
        cmd.Parameters.Add(new() { Value = Stopped });
        return cmd;
    }
}
