namespace Tasks.Core.Monitoring;

/// <summary>The conditions the camera raises alerts for (<see cref="Entities.MonitorAlert.Kind"/>); docs/api.md lists them.</summary>
public static class AlertKinds
{
    /// <summary>A queue with messages and no consumers at two snapshots in a row; subject: the queue.</summary>
    public const string QueueWithoutConsumers = "queue_without_consumers";

    /// <summary>A worker that stopped sending heartbeats without saying it stopped; subject: the worker.</summary>
    public const string WorkerOffline = "worker_offline";

    /// <summary>A task name failing more than <c>Monitor:FailureRateThreshold</c> of its attempts in an interval; subject: the name.</summary>
    public const string FailureRate = "failure_rate";

    /// <summary>A task <c>running</c> past its time limit whose worker is not online; subject: the task id.</summary>
    public const string TaskStuck = "task_stuck";

    /// <summary>The oldest <c>pending</c> task older than <c>Monitor:OutboxAlertSeconds</c>; subject: <c>outbox</c>.</summary>
    public const string OutboxBacklog = "outbox_backlog";

    /// <summary>RabbitMQ's management API, set in <c>RabbitMq:ManagementUrl</c>, could not be read for the snapshot; subject: <c>rabbitmq</c>.</summary>
    public const string BrokerUnreadable = "broker_unreadable";
}
