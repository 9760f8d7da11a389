using System.Collections.Frozen;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Entities;
using Tasks.Core.Hosting;
using Tasks.Core.Lifecycle.Moves;
using Tasks.Core.Monitoring;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// The index of the task lifecycle: the moves of <see cref="TaskLifecycle"/>, each in <c>Moves/</c>, built once
/// with the data source each writes through. The methods below only name the move they make. Writes a database
/// crash may lose at no cost go through the <c>relaxed</c> data source, whose commits don't wait for the WAL flush: see
/// docs/design.md, "Writes that don't wait for the WAL flush".
/// </summary>
public sealed class TaskStateMachine : IAsyncDisposable
{
    public TaskStateMachine(
        NpgsqlDataSource dataSource, [FromKeyedServices(TasksCoreExtensions.Relaxed)] NpgsqlDataSource relaxed,
        TimeProvider clock, IOptions<TasksOptions> options)
    {
        var retry = new TransientRetry(clock);
        var lease = TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        var current = new CurrentState(dataSource);
        var outcome = new AttemptOutcome(dataSource, clock, retry);
        Enqueue = new Enqueue(dataSource, retry);
        MarkQueued = new MarkQueued(relaxed, retry, TimeSpan.FromMilliseconds(options.Value.QueuedMarkDelayMilliseconds));
        Release = new Release(dataSource, lease);
        Claim = new Claim(dataSource, clock, lease, retry, new Skip(dataSource, lease));
        Succeed = new Succeed(dataSource, clock, retry);
        Fail = new Fail(outcome);
        Cancel = new Cancel(outcome);
        HandBack = new HandBack(relaxed);
        RequestCancel = new RequestCancel(dataSource, clock, current);
        RetryByHand = new RetryByHand(dataSource);
        RetryMatching = new RetryMatching(dataSource);
        CancelMatching = new CancelMatching(dataSource, clock);
        DeleteMatching = new DeleteMatching(dataSource);
        _dataSource = dataSource;
        Heartbeat = new Heartbeat(dataSource); // a lost renewal would shrink the lease margin
        Progress = new Progress(relaxed, clock, retry);
        CurrentState = current;
        StateCounts = new StateCounts(dataSource);
    }

    // The enqueuer's moves.
    public Enqueue Enqueue { get; }
    public MarkQueued MarkQueued { get; }
    // The relay's.
    public Release Release { get; }
    // The worker's.
    public Claim Claim { get; }
    public Succeed Succeed { get; }
    public Fail Fail { get; }
    public Cancel Cancel { get; }
    public HandBack HandBack { get; }
    // The API's.
    public RequestCancel RequestCancel { get; }
    public RetryByHand RetryByHand { get; }
    public RetryMatching RetryMatching { get; }
    public CancelMatching CancelMatching { get; }
    public DeleteMatching DeleteMatching { get; }
    // Not moves.
    public Heartbeat Heartbeat { get; }
    public Progress Progress { get; }
    public CurrentState CurrentState { get; }
    public StateCounts StateCounts { get; }

    public const int CrashAllowance = TakeOver.CrashAllowance;
    public static FrozenDictionary<TaskState, string> Names => TaskStates.Names;
    internal static ValueConverter<TaskState, string> Converter => TaskStates.Converter;
    public static string NameOf(TaskState state) => TaskStates.NameOf(state);
    public static bool TryParseState(string? name, out TaskState state) => TaskStates.TryParse(name, out state);
    public static bool IsFinished(TaskState state) => TaskStates.IsFinished(state);

    // The statements PlanTests checks.
    internal const string MarkQueuedSql = Moves.MarkQueued.Sql;
    internal static readonly string ClaimSql = Moves.Claim.Sql;
    internal static readonly string ClaimSkippingHeldSql = Moves.Claim.SkippingHeldSql;
    internal const string SucceedSql = Moves.Succeed.Sql;
    internal const string HeartbeatSql = Moves.Heartbeat.Sql;

    public static void Start(TaskRecord task, DateTimeOffset now, DateTimeOffset? runAt) => Moves.Enqueue.Start(task, now, runAt);
    public Task MarkQueuedAsync(IReadOnlyList<TaskRecord> tasks) => MarkQueued.MarkAsync(tasks);

    public Task<ReleaseResult> ReleaseAsync(
        ReleaseSettings settings, Func<IReadOnlyList<TaskToPublish>, CancellationToken, Task<IReadOnlyList<PublishRefusal>>> publish,
        CancellationToken ct) => Release.ReleaseAsync(settings, publish, ct);

    public Task<(ClaimedTask? Task, SkippedTask? Skipped)> ClaimAsync(Guid id, string worker, Guid messageId, CancellationToken ct) =>
        Claim.ClaimAsync(id, worker, messageId, ct);

    public Task<bool> SucceedAsync(ClaimedTask task, string? resultJson) => Succeed.SucceedAsync(task, resultJson);

    public Task<bool> SucceedAsync(TasksDbContext db, ClaimedTask task, string? resultJson, CancellationToken ct) =>
        Succeed.SucceedAsync(db, task, resultJson, ct);

    public Task<bool> FailAsync(ClaimedTask task, string error, string? details, DateTimeOffset? retryAt, CancellationToken ct) =>
        Fail.FailAsync(task, error, details, retryAt, ct);

    public Task<bool> CancelAsync(ClaimedTask task, string reason, CancellationToken ct) => Cancel.CancelAsync(task, reason, ct);

    public Task ReleaseLeaseAsync(ClaimedTask task, CancellationToken ct) => HandBack.HandBackAsync(task, ct);

    public Task<(bool Accepted, TaskState? State)> RequestCancelAsync(Guid id, CancellationToken ct) => RequestCancel.RequestAsync(id, ct);

    public Task<bool> RetryByHandAsync(Guid id, CancellationToken ct) => RetryByHand.RetryAsync(id, ct);

    public Task<TaskState?> GetStateAsync(Guid id, CancellationToken ct) => CurrentState.GetAsync(id, ct);

    /// <summary>How many tasks in <paramref name="states"/> match the filter: what a bulk move would touch.</summary>
    public Task<long> CountMatchingAsync(IReadOnlyList<TaskState> states, Queries.TaskFilter filter, CancellationToken ct) =>
        MatchingBatch.CountAsync(_dataSource, states, filter, ct);

    private readonly NpgsqlDataSource _dataSource;

    public Task<LeaseRenewal> HeartbeatAsync(IReadOnlyCollection<Guid> running, string worker, WorkerBeat? beat, CancellationToken ct) =>
        Heartbeat.RenewAsync(running, worker, beat, ct);

    public Task ReportProgressAsync(ClaimedTask task, long? current, long? total, string? message, CancellationToken ct) =>
        Progress.ReportAsync(task, (current, total, message), ct);

    /// <summary>Folds the per-connection rows of the counts by state and of the failed groups (see <c>StateCounts.FoldAsync</c>).</summary>
    public Task FoldStateCountsAsync(CancellationToken ct) => StateCounts.FoldAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await Claim.DisposeAsync();
        await Succeed.DisposeAsync();
        await MarkQueued.DisposeAsync();
        await Enqueue.DisposeAsync();
    }
}
