using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Tasks.Worker.Execution;

/// <summary>
/// Runs before the bus starts: resets the Npgsql pools (nothing stale survives from before a restart) and waits,
/// with back-off and a log line per try, until PostgreSQL answers, so the worker never consumes a message it
/// can't record. The broker connection retries by itself in MassTransit.
/// </summary>
public sealed partial class DependencyGate(NpgsqlDataSource dataSource, TimeProvider clock, ILogger<DependencyGate> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        NpgsqlConnection.ClearAllPools();
        dataSource.Clear();
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var cmd = dataSource.CreateCommand("SELECT 1");
                await cmd.ExecuteScalarAsync(cancellationToken);
                return;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                LogWaiting(logger, attempt, delay.TotalSeconds, e.Message);
                await Task.Delay(delay, clock, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Warning, "Waiting for PostgreSQL (try {Attempt}, next in {DelaySeconds:0.#} s): {Reason}")]
    private static partial void LogWaiting(ILogger logger, int attempt, double delaySeconds, string reason);
}
