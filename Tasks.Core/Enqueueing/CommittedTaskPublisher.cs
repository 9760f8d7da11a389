using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tasks.Core.Entities;
using Tasks.Core.Hosting;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// Publishes tasks whose rows are committed; they are <c>queued</c> once the broker confirmed them, and their rows
/// say so a moment later (the lifecycle's queued mark, not waited for). A broker failure is logged, not thrown:
/// the tasks stay <c>pending</c> and the relay publishes them.
/// </summary>
public sealed partial class CommittedTaskPublisher(
    TaskPublisher publisher, TaskStateMachine lifecycle, TimeProvider clock, IOptions<TasksOptions> options, ILogger<CommittedTaskPublisher> logger)
{
    public async Task PublishAsync(IReadOnlyList<TaskRecord> committed)
    {
        if (committed.Count == 0) return;
        var toPublish = committed.Select(t => new TaskToPublish(t.Id, t.Name, t.Queue)).ToList(); // in the enqueuer's own trace
        // Not the caller's token: a client that hangs up after the commit doesn't make its tasks wait for the relay.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(options.Value.PublishTimeoutSeconds), clock);
        try
        {
            await publisher.PublishAsync(toPublish, timeout.Token);
        }
        catch (Exception e)
        {
            // Committed means accepted: whatever stops the publish, the rows stay pending and the relay finishes the job.
            LogPublishDeferred(logger, e, committed.Count);
            return;
        }
        _ = lifecycle.MarkQueued.MarkAsync(committed).ContinueWith(
            t => LogMarkFailed(logger, t.Exception!, committed.Count), CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    [LoggerMessage(LogLevel.Warning, "Publishing {Count} committed task(s) failed; they stay pending and the sweeper will publish them")]
    private static partial void LogPublishDeferred(ILogger logger, Exception e, int count);

    [LoggerMessage(LogLevel.Warning, "Recording {Count} published task(s) as queued failed; they stay pending, and the sweeper publishes them again (their workers drop the duplicates)")]
    private static partial void LogMarkFailed(ILogger logger, Exception e, int count);
}
