using Microsoft.Extensions.Options;
using Npgsql;
using Tasks.Core.Monitoring;

namespace Tasks.Scheduler.Monitoring;

/// <summary>
/// Deletes what is older than <c>Monitor:RetentionDays</c>: snapshots, ended alerts, and workers offline or stopped
/// that long. In batches, each its own short statement, and a few per snapshot, so a backlog (say, after lowering the
/// setting) is worked off over a few intervals instead of in one long transaction.
/// </summary>
public sealed partial class MonitorPruner(NpgsqlDataSource database, IOptions<MonitorOptions> options, TimeProvider clock, ILogger<MonitorPruner> logger)
{
    public const int BatchSize = 1000;
    private const int BatchesPerRun = 10;

    private static readonly string[] Statements =
    [
        "DELETE FROM monitor_snapshots WHERE at IN (SELECT at FROM monitor_snapshots WHERE at < $1 ORDER BY at LIMIT $2)",
        "DELETE FROM monitor_alerts WHERE id IN (SELECT id FROM monitor_alerts WHERE ended_at < $1 ORDER BY ended_at LIMIT $2)",
        "DELETE FROM workers WHERE name IN (SELECT name FROM workers WHERE coalesce(stopped_at, heartbeat_at) < $1 LIMIT $2)",
    ];

    public async Task PruneAsync(CancellationToken ct)
    {
        var cutoff = clock.GetUtcNow().AddDays(-options.Value.RetentionDays);
        var total = 0;
        foreach (var sql in Statements)
        {
            for (var batch = 0; batch < BatchesPerRun; batch++)
            {
                await using var cmd = database.CreateCommand(sql);
                cmd.Parameters.Add(new() { Value = cutoff });
                cmd.Parameters.Add(new() { Value = BatchSize });
                var deleted = await cmd.ExecuteNonQueryAsync(ct);
                total += deleted;
                if (deleted < BatchSize) break;
            }
        }
        if (total > 0) LogPruned(logger, total, cutoff);
    }

    [LoggerMessage(LogLevel.Information, "Pruned {Rows} monitor rows older than {Cutoff:O}")]
    private static partial void LogPruned(ILogger logger, int rows, DateTimeOffset cutoff);
}
