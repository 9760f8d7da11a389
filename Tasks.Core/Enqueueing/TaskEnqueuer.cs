using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Enqueueing;

/// <summary>
/// The one way tasks enter the system (HTTP API, scheduler, CLI, handlers): validate, store, publish. Each task row
/// is written in one transaction and is its own outbox entry: it is published only after the commit, and a publish
/// that doesn't happen (broker down, process killed) is made up by the relay. Nothing is published for a
/// transaction that rolled back.
/// </summary>
public sealed class TaskEnqueuer(EnqueueValidator validator, TaskStore store, CommittedTaskPublisher publisher)
{
    public const int MaxAttemptsLimit = EnqueueValidator.MaxAttemptsLimit;
    public const int MaxTimeLimitSeconds = EnqueueValidator.MaxTimeLimitSeconds;

    /// <summary>Validates, stores and publishes the tasks: all of them, or none when any is invalid.</summary>
    public async Task<EnqueueResult> EnqueueAsync(IReadOnlyList<EnqueueRequest> requests, string errorPrefix, CancellationToken ct)
    {
        var (records, errors) = validator.Prepare(requests, errorPrefix);
        if (errors.Count > 0) return new EnqueueResult([], errors);

        var requestedIds = requests.Where(r => r.Id is not null).Select(r => r.Id!.Value).ToHashSet();
        var stored = await store.StoreAsync(records, requestedIds, errorPrefix, ct);
        if (stored.Conflicts.Count > 0) return new EnqueueResult([], errors) { Conflicts = stored.Conflicts };
        await PublishAsync(stored.Fresh.Where(t => t.State == TaskState.Pending).ToList());
        return new EnqueueResult(stored.All, errors) { Repeated = stored.Repeated };
    }

    /// <summary>Publishes tasks whose rows are committed (see <see cref="CommittedTaskPublisher"/>).</summary>
    public Task PublishAsync(IReadOnlyList<TaskRecord> committed) => publisher.PublishAsync(committed);
}
