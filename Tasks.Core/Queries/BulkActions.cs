using Tasks.Core.Enqueueing;
using Tasks.Core.Lifecycle;
using Tasks.Core.Telemetry;

namespace Tasks.Core.Queries;

/// <summary>What a bulk action does to the tasks of a filter.</summary>
public enum BulkAction { Retry, Cancel, Delete }

/// <summary>
/// Retry, cancel or delete every task of a filter, set-based in the database: the lifecycle's moves run over the
/// filter in batches of <see cref="BatchSize"/> rows (each its own statement), never row by row over HTTP. Retried
/// tasks are published batch by batch once committed, as a single retry is; a publish that fails leaves them
/// pending, for the relay. See docs/design.md#bulk-actions-are-set-based-moves-in-batches
/// </summary>
public sealed class BulkActions(TaskStateMachine lifecycle, CommittedTaskPublisher publisher, TasksTelemetry telemetry)
{
    public const int BatchSize = 1000;

    /// <summary>The states an action may touch (its moves' sources), and those it touches when the filter names none.</summary>
    public static (TaskState[] Allowed, TaskState[] Default) StatesOf(BulkAction action) => action switch
    {
        BulkAction.Retry => (TaskLifecycle.RetryByHand.From, [TaskState.Failed]),
        BulkAction.Cancel => (TaskLifecycle.CancelWaiting.From, TaskLifecycle.CancelWaiting.From),
        _ => (TaskLifecycle.Delete.From, [TaskState.Failed]),
    };

    /// <summary>The states the action touches for this filter; empty when the filter's state isn't one it may.</summary>
    public static TaskState[] StatesFor(BulkAction action, TaskFilter filter)
    {
        var (allowed, fallback) = StatesOf(action);
        return filter.State is { } state ? (allowed.Contains(state) ? [state] : []) : fallback;
    }

    /// <summary>The dry run: how many tasks the action would touch now.</summary>
    public Task<long> CountAsync(BulkAction action, TaskFilter filter, CancellationToken ct) =>
        lifecycle.CountMatchingAsync(StatesFor(action, filter), filter, ct);

    /// <summary>Runs the action to the end (or until <paramref name="ct"/> fires between batches); returns the tasks it touched.</summary>
    public async Task<long> RunAsync(BulkAction action, TaskFilter filter, CancellationToken ct)
    {
        long touched = 0;
        foreach (var state in StatesFor(action, filter))
        {
            var after = Guid.Empty;
            while (true)
            {
                var (count, last) = await BatchAsync(action, state, after, filter, ct);
                if (count == 0) break;
                touched += count;
                after = last;
            }
        }
        return touched;
    }

    private async Task<(int Count, Guid Last)> BatchAsync(BulkAction action, TaskState state, Guid after, TaskFilter filter, CancellationToken ct)
    {
        switch (action)
        {
            case BulkAction.Retry:
                var retried = await lifecycle.RetryMatching.BatchAsync(state, after, filter, BatchSize, ct);
                // Committed: published now, not with the caller's token (a hang-up mustn't leave them to the relay).
                await publisher.PublishAsync(retried);
                return (retried.Count, Last(retried.Select(t => t.Id)));
            case BulkAction.Cancel:
                var canceled = await lifecycle.CancelMatching.BatchAsync(state, after, filter, BatchSize, ct);
                foreach (var t in canceled) telemetry.Canceled(t.Name, t.Queue);
                return (canceled.Count, Last(canceled.Select(t => t.Id)));
            default:
                var deleted = await lifecycle.DeleteMatching.BatchAsync(state, after, filter, BatchSize, ct);
                return (deleted.Count, Last(deleted));
        }
    }

    // Guid's order is PostgreSQL's uuid order (bytes, big-endian) for the fields compared here.
    private static Guid Last(IEnumerable<Guid> ids) => ids.DefaultIfEmpty().Max();
}
