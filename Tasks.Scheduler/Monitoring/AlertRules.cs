using Tasks.Core.Monitoring;

namespace Tasks.Scheduler.Monitoring;

/// <summary>
/// Which alerts should be open after a snapshot, keyed by (kind, subject), with their detail. The camera opens those
/// not open yet and ends those open but no longer listed (docs/api.md, "Alerts").
/// </summary>
public static class AlertRules
{
    public sealed record Inputs(
        IReadOnlyList<WorkerFigures> Workers,
        IReadOnlyDictionary<string, QueueFigures> Queues,
        IReadOnlyDictionary<string, QueueFigures>? PreviousQueues,
        IReadOnlyDictionary<string, NameFigures> Names,
        IReadOnlyList<(Guid Id, string Name, string? Worker)> OverdueRunning,
        double? OutboxOldestSeconds,
        string? BrokerError,
        IReadOnlySet<(string Kind, string Subject)> Open);

    public static Dictionary<(string Kind, string Subject), string> Evaluate(Inputs input, MonitorOptions options)
    {
        var wanted = new Dictionary<(string, string), string>();
        foreach (var (queue, now) in input.Queues)
        {
            // MassTransit's dead-letter queues hold messages nobody is meant to consume.
            if (queue.EndsWith("_error", StringComparison.Ordinal) || queue.EndsWith("_skipped", StringComparison.Ordinal)) continue;
            if (now is { Depth: > 0, Consumers: 0 } && input.PreviousQueues?.GetValueOrDefault(queue) is { Depth: > 0, Consumers: 0 })
                wanted[(AlertKinds.QueueWithoutConsumers, queue)] = $"Queue '{queue}' has {now.Depth} messages ready and no consumer.";
        }
        foreach (var worker in input.Workers.Where(w => w.State == WorkerStates.NameOf(WorkerState.Offline)))
            wanted[(AlertKinds.WorkerOffline, worker.Name)] =
                $"Worker '{worker.Name}' sent no heartbeat since {worker.HeartbeatAt:O} and did not say it stopped; it ran {worker.Running} tasks then.";
        foreach (var (name, figures) in input.Names)
        {
            var failures = figures.Failed + figures.Retried;
            var over = figures.Ended >= options.FailureRateMinRuns && failures > options.FailureRateThreshold * figures.Ended;
            // Fewer attempts than the minimum neither raise nor end it: too few to tell.
            var undecided = figures.Ended > 0 && figures.Ended < options.FailureRateMinRuns && input.Open.Contains((AlertKinds.FailureRate, name));
            if (over || undecided)
                wanted[(AlertKinds.FailureRate, name)] = $"Task '{name}': {failures} of {figures.Ended} attempts failed in the interval " +
                    $"(threshold {options.FailureRateThreshold:P0}).";
        }
        var online = input.Workers.Where(w => w.State == WorkerStates.NameOf(WorkerState.Online)).Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var (id, name, worker) in input.OverdueRunning.Where(t => t.Worker is null || !online.Contains(t.Worker)))
            wanted[(AlertKinds.TaskStuck, id.ToString())] = $"Task {id} ({name}) is running past its time limit and its worker '{worker}' is not online.";
        if (input.OutboxOldestSeconds is { } age && age > options.OutboxAlertSeconds)
            wanted[(AlertKinds.OutboxBacklog, "outbox")] = $"The oldest pending task was committed {age:F0} s ago and is not yet published.";
        if (input.BrokerError is { } error)
            wanted[(AlertKinds.BrokerUnreadable, "rabbitmq")] = $"RabbitMQ's management API could not be read ({error}): queue depths, consumers and rates are unknown.";
        return wanted;
    }
}
