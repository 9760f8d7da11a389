using static Tasks.Core.Lifecycle.TaskState;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// The task lifecycle: every move a task's state may make, who makes it and what it stamps. Each move's statement
/// lives in <c>Moves/</c> and names its moves here (<see cref="MakesAttribute"/>); <c>LifecycleTableTests</c>
/// checks each statement's <c>SET state</c> and <c>WHERE state</c> against this table. Nothing else writes a state.
/// <code>
///   pending ──publish──▶ queued ──claim──▶ running ──▶ succeeded
///      ▲                   │                │  │  └──▶ failed ──retry by hand──▶ pending
///      │ release when due  │ cancel/expire  │  └─────▶ canceled / expired ──retry by hand──▶ pending
///   scheduled ◀────────────┼── retry ───────┘
/// </code>
/// The bulk actions make RetryByHand, CancelWaiting and Delete for every task of a filter, in batches (Moves/*Matching).
/// </summary>
public static class TaskLifecycle
{
    // Enqueued: the row is the outbox. Scheduled when it must wait for its time.
    public static readonly Move Enqueue = new(Actor.Enqueuer, [], [Pending, Scheduled], "enqueued_at, updated_at; scheduled_for");
    public static readonly Move MarkQueued = new(Actor.Enqueuer, [Pending], [Queued], "updated_at");

    // The relay: due tasks, lost leases, and publishing what nobody published.
    public static readonly Move ReleaseDue = new(Actor.Relay, [Scheduled], [Pending], "updated_at (back-dated)");
    public static readonly Move ReleaseLost = new(Actor.Relay, [Running], [Pending, Failed], "updated_at (back-dated); heartbeat_at cleared; finished_at when failed");
    public static readonly Move Republish = new(Actor.Relay, [Pending, Queued], [Queued], "updated_at");
    public static readonly Move RefusePublish = new(Actor.Relay, [Pending, Queued], [Pending, Failed], "updated_at, publish_after; finished_at when failed");

    // The worker: one attempt.
    public static readonly Move Claim = new(Actor.Worker, [Pending, Queued], [Running], "started_at, updated_at, heartbeat_at; finished_at cleared");
    public static readonly Move TakeOver = new(Actor.Worker, [Running], [Running], "started_at, updated_at, heartbeat_at");
    public static readonly Move Expire = new(Actor.Worker, [Pending, Queued, Running], [Expired], "finished_at, updated_at");
    public static readonly Move CancelAtClaim = new(Actor.Worker, [Pending, Queued, Running], [Canceled], "finished_at, updated_at");
    public static readonly Move GiveUp = new(Actor.Worker, [Running], [Failed], "finished_at, updated_at");
    public static readonly Move Succeed = new(Actor.Worker, [Running], [Succeeded], "finished_at, updated_at");
    public static readonly Move Retry = new(Actor.Worker, [Running], [Scheduled], "scheduled_for, updated_at; finished_at cleared");
    public static readonly Move Fail = new(Actor.Worker, [Running], [Failed], "finished_at, updated_at");
    public static readonly Move Cancel = new(Actor.Worker, [Running], [Canceled], "finished_at, updated_at");
    public static readonly Move HandBack = new(Actor.Worker, [Running], [Running], "heartbeat_at cleared");

    // The API.
    public static readonly Move CancelWaiting = new(Actor.Api, [Pending, Scheduled, Queued], [Canceled], "finished_at, updated_at");
    public static readonly Move RequestCancel = new(Actor.Api, [Running], [Running], "updated_at (cancel_requested: the worker cancels)");
    public static readonly Move RetryByHand = new(Actor.Api, [Failed, Canceled, Expired], [Pending], "updated_at; finished_at, scheduled_for cleared");
    // The bulk actions' delete: a finished task leaves the table (no state after it).
    public static readonly Move Delete = new(Actor.Api, [Succeeded, Failed, Canceled, Expired], [], "none: the row goes");
}
