using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Tasks.Contracts.Maintenance;
using Tasks.Core.Hosting;
using Tasks.Worker.Execution;

namespace Tasks.Worker.Handlers;

/// <summary>
/// Deletes finished tasks older than the retention, a batch per statement so no statement locks many rows for
/// long. Batches commit on their own connection, not with the task: a cleanup cut short has still done its part.
/// </summary>
public sealed partial class CleanupHandler(
    NpgsqlDataSource dataSource, IOptions<TasksOptions> options, TimeProvider clock, ILogger<CleanupHandler> logger)
    : ITaskHandler<CleanupArgs>
{
    private const int BatchSize = 5000;

    public async Task<TaskOutcome> RunAsync(CleanupArgs args, TaskContext context)
    {
        var days = args.RetentionDays ?? options.Value.RetentionDays;
        var cutoff = clock.GetUtcNow() - TimeSpan.FromDays(days);
        var deleted = 0;
        int batch;
        do
        {
            await using var cmd = dataSource.CreateCommand(
                "DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE finished_at < $1 LIMIT $2) AND finished_at < $1");
            cmd.Parameters.Add(new() { Value = cutoff });
            cmd.Parameters.Add(new() { Value = BatchSize });
            batch = await cmd.ExecuteNonQueryAsync(context.CancellationToken);
            deleted += batch;
            await context.ReportProgressAsync(deleted, null, $"deleted {deleted} finished tasks older than {days} days");
        } while (batch == BatchSize);

        LogDeleted(logger, deleted, days);
        return TaskOutcome.Succeeded(new { deleted, retentionDays = days });
    }

    [LoggerMessage(LogLevel.Information, "Cleanup deleted {Deleted} finished tasks older than {Days} days")]
    private static partial void LogDeleted(ILogger logger, int deleted, int days);
}
