using System.ComponentModel.DataAnnotations;

namespace Tasks.Worker;

/// <summary>How this worker process consumes (section <c>Worker</c>; also <c>--queues</c>, <c>--concurrency</c>, <c>--prefetch</c>, <c>--name</c>).</summary>
public sealed class WorkerOptions
{
    public const string Section = "Worker";

    /// <summary>Comma-separated queues to consume.</summary>
    [Required, RegularExpression("^[a-z0-9][a-z0-9._-]{0,99}(,[a-z0-9][a-z0-9._-]{0,99})*$",
        ErrorMessage = "Worker:Queues must be a comma-separated list of queue names (lowercase letters, digits, '.', '_', '-').")]
    public string Queues { get; set; } = "default";

    /// <summary>
    /// Tasks run at once, per queue. Each running task holds a database connection of its own (its transaction), so
    /// PostgreSQL's <c>max_connections</c> must leave room for every worker's concurrency × queues (the worker's own
    /// connection pool is sized for it unless the connection string sets <c>Maximum Pool Size</c>).
    /// </summary>
    [Range(1, 1024)]
    public int Concurrency { get; set; } = 64;

    /// <summary>
    /// Messages the broker hands over ahead of time, per queue; at least <see cref="Concurrency"/>. Default four
    /// times the concurrency (Celery's multiplier): a worker never waits for the broker between tasks. Lower it
    /// for long tasks, whose prefetched messages wait behind them while other workers may be idle.
    /// </summary>
    [Range(1, 65535)]
    public int? Prefetch { get; set; }

    public int EffectivePrefetch => Math.Max(Prefetch ?? 4 * Concurrency, Concurrency);

    /// <summary>How the worker appears on tasks and in the dashboard. Default <c>worker@host:pid</c>.</summary>
    [StringLength(200)]
    public string? Name { get; set; }

    /// <summary>On SIGTERM, how long running tasks may take to finish before their tokens fire and they go back to the queue.</summary>
    [Range(0, 3600)]
    public int ShutdownGraceSeconds { get; set; } = 25;

    /// <summary>After a task's token fires (time limit, cancel), how long it may take to return before it is abandoned.</summary>
    [Range(0, 3600)]
    public int StopGraceSeconds { get; set; } = 10;

    /// <summary>
    /// How long a task of a message this worker holds may wait for one of its slots before it goes back to the queue,
    /// in a message of its own, for any of the queue's workers with room (this one too, later). A message may carry many tasks
    /// (<c>Tasks:MaxTasksPerMessage</c>) and prefetch counts messages, so without it a busy worker could sit on a bulk
    /// load while others idle, and acknowledge its last message past RabbitMQ's <c>consumer_timeout</c>.
    /// </summary>
    [Range(1, 86400)]
    public int HandBackSeconds { get; set; } = 60;

    /// <summary>How often the worker looks for cancel requests for the tasks it runs.</summary>
    [Range(50, 60000)]
    public int CancelPollMilliseconds { get; set; } = 500;

    /// <summary>
    /// How often the worker writes its row in <c>workers</c> (what it runs, its counters); three missed and it is
    /// shown <c>offline</c>. Sent with a lease renewal, so at least <see cref="CancelPollMilliseconds"/>.
    /// </summary>
    [Range(1, 3600)]
    public int HeartbeatSeconds { get; set; } = 5;

    public IReadOnlyList<string> QueueList => Queues.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public string ResolvedName => string.IsNullOrWhiteSpace(Name) ? $"worker@{Environment.MachineName}:{Environment.ProcessId}" : Name;
}
