using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Lifecycle;
using Tasks.Core.Registry;
using Tasks.Core.Telemetry;

namespace Tasks.Worker.Execution;

/// <summary>
/// Runs one task message, top to bottom:
/// 1. claim the task row (a conditional UPDATE: a duplicate, stale, canceled or expired message is dropped here);
/// 2. open a fresh DI scope, its own <see cref="TasksDbContext"/> and a transaction, and call the handler;
/// 3. on success, save the handler's changes and the <c>succeeded</c> state in that transaction, commit, then run
///    the after-commit callbacks in order (a handler that sent nothing to the database has nothing to commit: its
///    <c>succeeded</c> is written together with other tasks', see <see cref="DatabaseUse"/>);
/// 4. otherwise dispose the scope unsaved (rolling back everything the handler did) and record the failure,
///    retry, cancel or time-out on a connection of its own.
/// It returns once the outcome is committed, and only then is the message acknowledged. Shutdown is the one
/// exception: an attempt cut short by it records nothing and rethrows, so the message goes back to the queue.
/// </summary>
public sealed partial class TaskRunner(
    IServiceScopeFactory scopes, TaskStateMachine lifecycle, HandlerCatalog handlers, RunningTasks running, NpgsqlDataSource database,
    IOptions<WorkerOptions> options, TimeProvider clock, TasksTelemetry telemetry, IHostApplicationLifetime lifetime, ILogger<TaskRunner> logger)
{
    private readonly string _worker = options.Value.ResolvedName;
    private readonly TimeSpan _stopGrace = TimeSpan.FromSeconds(options.Value.StopGraceSeconds);

    // Worker:Concurrency in tasks, per queue: MassTransit's limit counts messages, and a message may carry several.
    // Never disposed: they hold no handle (AvailableWaitHandle is never asked for), and a late Release must not throw.
    private readonly ConcurrentDictionary<Uri, SemaphoreSlim> _slots = new();
    private readonly int _concurrency = options.Value.Concurrency;
    private readonly TimeSpan _handBackAfter = TimeSpan.FromSeconds(options.Value.HandBackSeconds);

    /// <summary>
    /// Runs the tasks of one message from the queue at <paramref name="queue"/>, each once one of that queue's slots
    /// is free, and returns when every one has an outcome. A task is claimed only once it has its slot, so none waits
    /// for one as <c>running</c>. Tasks still waiting after <c>Worker:HandBackSeconds</c> are given to
    /// <paramref name="handBack"/> (with <paramref name="state"/>, by their index in the message), which sends them
    /// back to the queue, and the message is done without them. Once the worker is stopping no task starts: a task
    /// still waiting then throws, and the message goes back to the queue whole once its other tasks are done (their
    /// claims drop them on its redelivery).
    /// </summary>
    public async Task RunAsync<TState>(
        IReadOnlyList<Guid> taskIds, IReadOnlyList<string?>? traceParents, Guid messageId, Uri queue,
        Func<TState, IReadOnlyList<int>, Task> handBack, TState state, CancellationToken shutdown)
    {
        var slots = _slots.GetOrAdd(queue, static (_, n) => new SemaphoreSlim(n), _concurrency);
        var runs = new Task?[taskIds.Count];
        Task<Task?>?[]? waits = null; // tasks that found no free slot: their run once they have one, null if handed back
        CancellationTokenSource? late = null; // the hand-back deadline, started by the first task that has to wait
        try
        {
            for (var i = 0; i < runs.Length; i++)
            {
                var trace = traceParents?.ElementAtOrDefault(i);
                if (slots.Wait(0, CancellationToken.None))
                {
                    runs[i] = StartInSlot(taskIds[i], messageId, trace, slots, shutdown);
                    continue;
                }
                late ??= new CancellationTokenSource(_handBackAfter, clock);
                (waits ??= new Task<Task?>?[runs.Length])[i] = WaitForSlotAsync(taskIds[i], messageId, trace, slots, late.Token, shutdown);
            }
            if (waits is null) await (runs.Length == 1 ? runs[0]! : Task.WhenAll(runs!)); // the common case: all in free slots
            else await RunWaitingAsync(runs, waits, queue, handBack, state);
        }
        finally
        {
            late?.Dispose();
        }
    }

    private async Task RunWaitingAsync<TState>(
        Task?[] runs, Task<Task?>?[] waits, Uri queue, Func<TState, IReadOnlyList<int>, Task> handBack, TState state)
    {
        var waited = waits.OfType<Task<Task?>>().ToList();
        try
        {
            await Task.WhenAll(waited); // each started, past the deadline, or stopped by the worker stopping
        }
        catch (Exception)
        {
            // seen below, once the started tasks are done
        }
        var late = new List<int>();
        for (var i = 0; i < waits.Length; i++)
        {
            if (waits[i] is not { IsCompletedSuccessfully: true } wait) continue;
            if (wait.Result is { } run) runs[i] = run;
            else late.Add(i);
        }
        // Every task that didn't start is either sent back here or keeps the message from being acknowledged: when
        // the worker is stopping, when a task of it failed already (the message is retried whole, these with it),
        // or when the send failed, the message goes back whole and its finished tasks are dropped at their claims.
        Exception? notSentBack = null;
        if (late.Count > 0 && waited.TrueForAll(w => w.IsCompletedSuccessfully))
        {
            if (lifetime.ApplicationStopping.IsCancellationRequested)
                notSentBack = new OperationCanceledException(lifetime.ApplicationStopping);
            else if (Array.Exists(runs, r => r is { IsFaulted: true } or { IsCanceled: true }))
                notSentBack = new InvalidOperationException($"{late.Count} task(s) of the message were not sent back: another failed.");
            else
            {
                try
                {
                    await handBack(state, late);
                }
                catch (Exception e)
                {
                    LogHandBackFailed(logger, e, late.Count);
                    notSentBack = e;
                }
                if (notSentBack is null)
                {
                    telemetry.HandedBack(queue.Segments[^1], late.Count);
                    LogHandedBack(logger, late.Count, runs.Length, _handBackAfter.TotalSeconds);
                }
            }
        }
        await Task.WhenAll(runs.OfType<Task>()); // rethrows what failed a started task
        await Task.WhenAll(waited); // rethrows what stopped a task from starting (the worker stopping)
        if (notSentBack is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(notSentBack);
    }

    /// <summary>Waits for a slot and starts the task in it; null when the hand-back deadline passed first.</summary>
    private async Task<Task?> WaitForSlotAsync(
        Guid taskId, Guid messageId, string? traceParent, SemaphoreSlim slots, CancellationToken late, CancellationToken shutdown)
    {
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(shutdown, lifetime.ApplicationStopping, late))
        {
            try
            {
                await slots.WaitAsync(waiting.Token);
            }
            catch (OperationCanceledException) when (!shutdown.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                return null;
            }
        }
        return StartInSlot(taskId, messageId, traceParent, slots, shutdown);
    }

    /// <summary>The task's run in the slot it holds; failed at once, the slot given back, when the worker is stopping.</summary>
    private Task StartInSlot(Guid taskId, Guid messageId, string? traceParent, SemaphoreSlim slots, CancellationToken shutdown)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested) // stopping began as the slot came free
        {
            slots.Release();
            return Task.FromException(new OperationCanceledException(lifetime.ApplicationStopping));
        }
        return RunAndReleaseAsync(taskId, messageId, traceParent, slots, shutdown);
    }

    private async Task RunAndReleaseAsync(Guid taskId, Guid messageId, string? traceParent, SemaphoreSlim slots, CancellationToken shutdown)
    {
        try
        {
            await RunInSlotAsync(taskId, messageId, traceParent, shutdown);
        }
        finally
        {
            slots.Release();
        }
    }

    private async Task RunInSlotAsync(Guid taskId, Guid messageId, string? traceParent, CancellationToken shutdown)
    {
        using var attempt = running.TryStart(taskId, shutdown);
        if (attempt is null)
        {
            LogDuplicate(logger, taskId);
            return;
        }
        var claimStarted = clock.GetTimestamp();
        var (task, skipped) = await lifecycle.ClaimAsync(taskId, _worker, messageId, shutdown);
        if (task is null)
        {
            if (skipped is not null) CountSkip(skipped);
            LogDropped(logger, taskId);
            return;
        }
        attempt.Claimed(claimStarted); // the claim took the lease: from here the attempt runs only while it holds
        telemetry.Started(task.Name, task.Queue, task.StartedAt - task.DueAt);
        // In the trace that enqueued it: the message's (the consume span, current here), or its own when the
        // message carried tasks of several traces.
        using var activity = traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var parent)
            ? TasksTelemetry.Source.StartActivity($"task.run {task.Name}", ActivityKind.Internal, parent)
            : TasksTelemetry.Source.StartActivity($"task.run {task.Name}");
        activity?.SetTag("task.id", task.Id).SetTag("task.name", task.Name).SetTag("task.queue", task.Queue)
            .SetTag("task.attempt", task.Attempt).SetTag("task.worker", task.Worker);

        using var scope = logger.BeginScope(new Dictionary<string, object>
        {
            ["TaskId"] = task.Id, ["TaskName"] = task.Name, ["Attempt"] = task.Attempt, ["Queue"] = task.Queue, ["Worker"] = task.Worker,
        });
        if (!handlers.TryGet(task.Name, out var handler))
        {
            // Likely a rolling deploy (an older worker on the queue): try again later, within the task's attempts.
            await RecordAsync(task, TaskOutcome.Retry($"Worker {task.Worker} has no handler for task '{task.Name}'."));
            return;
        }

        LogStarted(logger, task.Id, task.Name, task.Attempt);
        var started = Stopwatch.GetTimestamp();
        attempt.StartTimeLimit(task.TimeLimitSeconds > 0 ? TimeSpan.FromSeconds(task.TimeLimitSeconds) : Timeout.InfiniteTimeSpan);
        var outcome = await RunHandlerAsync(task, handler, attempt);
        telemetry.Ran(task.Name, task.Queue, Stopwatch.GetElapsedTime(started));
        if (outcome is null) return; // succeeded and committed
        activity?.SetStatus(ActivityStatusCode.Error, outcome.GetType().Name);
        if (outcome is TaskOutcome.PutBackOutcome putBack) await PutBackAsync(task, attempt, putBack, shutdown);
        // Cut short by shutdown, or taken over while the handler finished: nothing is recorded.
        if (attempt.ShuttingDown && !attempt.CancelRequested && !attempt.TimedOut)
            await PutBackAsync(task, attempt, new TaskOutcome.PutBackOutcome("the worker is stopping", null, HandlerReturned: true), shutdown);
        if (attempt.LeaseTaken)
            await PutBackAsync(task, attempt, new TaskOutcome.PutBackOutcome("its lease was taken over", null, HandlerReturned: true), shutdown);
        attempt.Finishing();
        try
        {
            await RecordAsync(task, outcome);
        }
        catch (Exception e) when (ConnectionLoss.Is(e))
        {
            // Not recorded, or recorded with its reply lost: the message's redelivery finds out at its claim.
            await PutBackAsync(task, attempt, new TaskOutcome.PutBackOutcome("its outcome could not be written", e, HandlerReturned: true), shutdown);
        }
        LogFinished(logger, task.Id, outcome.GetType().Name, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>
    /// Ends an attempt without an outcome: nothing is recorded, and the message goes back to the queue (this
    /// throws), so the attempt is spent like a crash's, within <see cref="TaskStateMachine.CrashAllowance"/>. The
    /// lease is handed back when the handler is done and the database lets us before the lease is due to be lost
    /// anyway, so that the message's retry takes the task over at once; otherwise the lease runs out (and the
    /// relay or the message's redelivery takes over then).
    /// </summary>
    private async Task PutBackAsync(ClaimedTask task, RunningTask attempt, TaskOutcome.PutBackOutcome putBack, CancellationToken shutdown)
    {
        attempt.StopRenewing();
        if (putBack.HandlerReturned && !attempt.LeaseLost) await ReleaseLeaseAsync(task, attempt);
        if (attempt.ShuttingDown)
        {
            LogRequeued(logger, task.Id);
            shutdown.ThrowIfCancellationRequested();
        }
        LogPutBack(logger, putBack.Cause, task.Id, putBack.Reason);
        throw new TaskPutBackException($"Task {task.Id}: put back ({putBack.Reason}).", putBack.Cause);
    }

    private async Task ReleaseLeaseAsync(ClaimedTask task, RunningTask attempt)
    {
        // A stopping worker tries once; otherwise until the database answers or the lease is about to be lost.
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(attempt.LeaseToken);
        if (attempt.ShuttingDown) bound.CancelAfter(TimeSpan.FromSeconds(2));
        while (!bound.IsCancellationRequested)
        {
            try
            {
                await lifecycle.ReleaseLeaseAsync(task, bound.Token);
                return;
            }
            catch (Exception e) when (ConnectionLoss.Is(e) && !bound.IsCancellationRequested && !attempt.ShuttingDown)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(250), clock, bound.Token);
                }
                catch (OperationCanceledException)
                {
                    // the lease is about to be lost: nothing left to hand back
                }
            }
            catch (Exception e)
            {
                LogLeaseKept(logger, e, task.Id);
                return;
            }
        }
    }

    /// <summary>Returns null when the task succeeded and its work committed; otherwise what to record.</summary>
    private async Task<TaskOutcome?> RunHandlerAsync(ClaimedTask task, HandlerRegistration handler, RunningTask attempt)
    {
        var afterCommit = new AfterCommitQueue();
        var scope = scopes.CreateAsyncScope();
        Task<TaskOutcome>? run = null;
        NpgsqlConnection? connection = null;
        try
        {
            var db = scope.ServiceProvider.GetRequiredService<TasksDbContext>();
            TaskOutcome outcome;
            try
            {
                // A transaction of Npgsql's own, lent to EF Core: BEGIN goes out with the handler's first command, so
                // a handler that never uses the database costs no round trip at all (see the success path below).
                // Opened here, not through EF Core (which would count it open twice, once more for the transaction,
                // and keep it open past the close below).
                connection = (NpgsqlConnection)db.Database.GetDbConnection();
                await connection.OpenAsync(attempt.Token);
                var tx = await connection.BeginTransactionAsync(attempt.Token);
                await db.Database.UseTransactionAsync(tx, attempt.Token);
                var context = new TaskContext(task, lifecycle, db, afterCommit, logger, attempt.Token);
                var usedDatabase = DatabaseUse.Watch();
                try
                {
                    run = handler.InvokeAsync(scope.ServiceProvider, task.Args, context);
                    outcome = await WaitWithGraceAsync(run, attempt);
                    attempt.Finishing();
                }
                finally
                {
                    DatabaseUse.Unwatch();
                }
                if (outcome is TaskOutcome.SucceededOutcome success)
                {
                    // Finished, but the task was taken over meanwhile: another attempt may be running it now. (A renewal
                    // merely late doesn't stop a handler that is done: its success is written only if the attempt still
                    // holds the task, and its transaction commits only then.)
                    if (attempt.LeaseTaken) return new TaskOutcome.PutBackOutcome("its lease was taken over", null, HandlerReturned: true);
                    var result = success.Result is null ? null : JsonSerializer.Serialize(success.Result, TaskRegistry.ArgsJson);
                    // Not storable, and running it again won't change that: a failure that says why, with the
                    // handler's database work rolled back like any other failure's.
                    if (result is not null && TaskRegistry.ContainsNul(result))
                        return new TaskOutcome.FailOutcome("Its result can't be stored: it contains NUL characters (\\u0000), which PostgreSQL can't hold.");
                    bool recorded;
                    if (!usedDatabase.Value && !db.ChangeTracker.HasChanges())
                    {
                        // The handler sent nothing: its transaction never began on the server, and the connection goes
                        // back to the pool without a ROLLBACK. Its success is written with other tasks' in one statement.
                        await db.Database.UseTransactionAsync(null, CancellationToken.None);
                        await connection.CloseAsync();
                        recorded = await lifecycle.SucceedAsync(task, result);
                    }
                    else
                    {
                        await db.SaveChangesAsync(CancellationToken.None);
                        recorded = await lifecycle.SucceedAsync(db, task, result, CancellationToken.None);
                        if (recorded) await tx.CommitAsync(CancellationToken.None);
                    }
                    if (recorded)
                    {
                        telemetry.Succeeded(task.Name, task.Queue);
                        LogSucceeded(logger, task.Id);
                        await RunAfterCommitAsync(task, afterCommit);
                    }
                    else
                    {
                        LogClaimLost(logger, task.Id);
                    }
                    return null;
                }
            }
            catch (TimeoutException) when (run is { IsCompleted: false } && (attempt.TimedOut || attempt.CancelRequested || attempt.ShuttingDown || attempt.LeaseLost))
            {
                outcome = Stopped(attempt, abandoned: true);
            }
            catch (OperationCanceledException) when (attempt.Token.IsCancellationRequested)
            {
                outcome = Stopped(attempt, abandoned: false);
            }
            catch (Exception) when (attempt.CancelRequested || attempt.TimedOut || attempt.LeaseLost)
            {
                outcome = Stopped(attempt, abandoned: false); // whatever the handler threw on its way out
            }
            catch (Exception e) when (ConnectionLoss.Is(e) || connection?.FullState.HasFlag(System.Data.ConnectionState.Broken) == true)
            {
                // The database (or broker) went away under the handler, its progress report or its outcome: not the
                // task's failure. What it did is rolled back or, if its commit's reply was what got lost, found at the next claim.
                outcome = new TaskOutcome.PutBackOutcome("it lost its database or broker connection", e, HandlerReturned: run is null or { IsCompleted: true });
            }
            catch (Exception e)
            {
                outcome = new TaskOutcome.RetryOutcome($"{e.GetType().Name}: {e.Message}", null, e.ToString());
            }
            return outcome;
        }
        finally
        {
            if (run is { IsCompleted: false }) await AbandonAsync(scope.ServiceProvider.GetRequiredService<TasksDbContext>(), run, task.Id);
            else await scope.DisposeAsync(); // its DbContext (back to the pool) and its transaction end here, unsaved
        }
    }

    /// <summary>
    /// A handler given up on may still hold its scope's services and its DbContext, and use them later; most often it
    /// is waiting on a query this very moment (that is how a handler comes to ignore its token). Its connection is
    /// not touched from here: closing it under a running command makes two readers of one socket, which hang or
    /// garble each other. Its server session is ended instead (<c>pg_terminate_backend</c>): that rolls its work back,
    /// releases its locks, and fails its command and whatever it sends later. Its context never opens a connection
    /// again (<see cref="TasksDbContext.Abandon"/>), and its scope is never disposed: that would hand the pooled
    /// context, reset, to a later message while this handler still holds it. The scope is left to the garbage
    /// collector; the connection is thrown away when the handler returns, never handed back to the pool.
    /// <para>
    /// Left as they are: Npgsql empties the pool when it meets the ended session's error (it takes it for a server
    /// shutdown), so the worker's other connections are opened afresh once; a handler that never returns keeps its
    /// connection (as it keeps its thread); and one that opens its context's connection again itself (ADO.NET,
    /// Dapper) gets a new session, outside the guard.
    /// </para>
    /// </summary>
    private async Task AbandonAsync(TasksDbContext db, Task handler, Guid taskId)
    {
        db.Abandon();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        int backend;
        try
        {
            // Still the session this attempt opened: the connection was opened before the handler ran, and only the
            // handler could have closed it (handing the session on to someone else); then there's nothing to end.
            // Read while the handler may be using the connection: whatever goes wrong means the same.
            if (connection.State != System.Data.ConnectionState.Open) backend = 0;
            else backend = connection.ProcessID;
        }
        catch (Exception)
        {
            backend = 0; // broken or closed meanwhile: its session is gone already
        }
        // Once the handler is done with it: a connection whose session was ended but which never read the news
        // would go back to the pool looking healthy, and fail whoever got it next. Clearing the pool first makes
        // it be closed instead of kept (the data source's own pool: NpgsqlConnection.ClearPool only reaches the
        // pools Npgsql keeps by connection string, not a data source's, and left this connection to be reused).
        _ = handler.ContinueWith(async _ =>
        {
            if (backend != 0) database.Clear();
            await connection.DisposeAsync();
        }, TaskScheduler.Default).Unwrap().ContinueWith(t => t.Exception, TaskScheduler.Default); // a broken connection may throw as it goes
        if (backend == 0) return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), clock);
            await using var end = database.CreateCommand("SELECT pg_terminate_backend($1, 5000)"); // waits for it to exit
            end.Parameters.Add(new NpgsqlParameter<int> { TypedValue = backend });
            if (await end.ExecuteScalarAsync(timeout.Token) is not true)
                LogAbandonedSessionLeft(logger, null, taskId, backend); // still there after 5 s, or not ours to end
        }
        catch (Exception e)
        {
            // The database is unreachable (then so is the session), or slow: the session ends when its connection does.
            LogAbandonedSessionLeft(logger, e, taskId, backend);
        }
    }

    /// <summary>
    /// Waits for the handler; once its token has fired, waits at most the stop grace more, then gives up on it:
    /// a handler that ignores its token can't hold a worker slot or the message forever.
    /// </summary>
    private async Task<TaskOutcome> WaitWithGraceAsync(Task<TaskOutcome> handler, RunningTask attempt)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = attempt.Token.Register(() => stopped.TrySetResult());
        var first = await Task.WhenAny(handler, stopped.Task);
        if (first == handler) return await handler;
        try
        {
            return await handler.WaitAsync(_stopGrace, clock);
        }
        catch (TimeoutException)
        {
            _ = handler.ContinueWith(t => t.Exception, TaskScheduler.Default); // observe whatever it ends with
            throw;
        }
    }

    private static TaskOutcome Stopped(RunningTask attempt, bool abandoned)
    {
        if (attempt.LeaseLost) return new TaskOutcome.PutBackOutcome("its lease could not be renewed in time, or was taken over", null, !abandoned);
        if (attempt.CancelRequested) return TaskOutcome.Cancel("Canceled while running.");
        if (attempt.TimedOut)
            return new TaskOutcome.FailOutcome(abandoned
                ? "Timed out: passed its time limit and did not stop within the grace period; abandoned."
                : "Timed out: passed its time limit.");
        return new TaskOutcome.PutBackOutcome("interrupted: the worker is stopping or lost its broker connection", null, !abandoned);
    }

    private async Task RecordAsync(ClaimedTask task, TaskOutcome outcome)
    {
        var (recorded, count) = outcome switch
        {
            TaskOutcome.RetryOutcome retry when task.HasAttemptsLeft => (
                await lifecycle.FailAsync(task, retry.Reason, retry.Details, clock.GetUtcNow() + (retry.After ?? Backoff(task)), CancellationToken.None),
                (Action<string, string>)telemetry.Retried),
            TaskOutcome.RetryOutcome retry => (
                await lifecycle.FailAsync(task, retry.Reason, retry.Details, null, CancellationToken.None), telemetry.Failed),
            TaskOutcome.FailOutcome fail => (
                await lifecycle.FailAsync(task, fail.Reason, fail.Details, null, CancellationToken.None), telemetry.Failed),
            TaskOutcome.CancelOutcome cancel => (
                await lifecycle.CancelAsync(task, cancel.Reason, CancellationToken.None), telemetry.Canceled),
            _ => throw new UnreachableException($"Unexpected outcome {outcome}."),
        };
        if (recorded) count(task.Name, task.Queue);
        else LogClaimLost(logger, task.Id);
    }

    private void CountSkip(SkippedTask skipped)
    {
        switch (skipped.State)
        {
            case TaskState.Expired: telemetry.Expired(skipped.Name, skipped.Queue); break;
            case TaskState.Canceled: telemetry.Canceled(skipped.Name, skipped.Queue); break;
            case TaskState.Failed: telemetry.Failed(skipped.Name, skipped.Queue); break;
        }
    }

    /// <summary>Exponential back-off with full jitter over its upper half: base·2^(n-1)·[0.5, 1), capped at a day.</summary>
    internal static TimeSpan Backoff(ClaimedTask task)
    {
        var n = Math.Max(1, task.Attempt - task.AttemptsBase);
        var seconds = Math.Min(task.BackoffSeconds * Math.Pow(2, n - 1), 86400);
        return TimeSpan.FromSeconds(seconds * (0.5 + Random.Shared.NextDouble() / 2));
    }

    private async Task RunAfterCommitAsync(ClaimedTask task, AfterCommitQueue afterCommit)
    {
        foreach (var callback in afterCommit.Drain())
        {
            try
            {
                await callback(CancellationToken.None);
            }
            catch (Exception e)
            {
                // The task's work is committed: a failing notification can't undo it, so it is logged, not retried.
                LogAfterCommitFailed(logger, e, task.Id);
            }
        }
    }

    [LoggerMessage(LogLevel.Debug, "Task {TaskId}: this worker is running it already; duplicate message dropped")]
    private static partial void LogDuplicate(ILogger logger, Guid taskId);

    [LoggerMessage(LogLevel.Information, "{Count} of the {Total} task(s) of a message waited {Seconds} s for a slot; sent back to the queue for any worker")]
    private static partial void LogHandedBack(ILogger logger, int count, int total, double seconds);

    [LoggerMessage(LogLevel.Warning, "Sending {Count} waiting task(s) of a message back to the queue failed; the message goes back whole")]
    private static partial void LogHandBackFailed(ILogger logger, Exception e, int count);

    [LoggerMessage(LogLevel.Information, "Task {TaskId}: not runnable (finished, taken, canceled or expired); message dropped")]
    private static partial void LogDropped(ILogger logger, Guid taskId);

    // One Information line per task, at its end: a line at the start too cost a busy worker a good share of its
    // throughput (the console sink serialises every event), and the row, the trace and the metrics have the start.
    [LoggerMessage(LogLevel.Debug, "Task {TaskId} {TaskName} started, attempt {Attempt}")]
    private static partial void LogStarted(ILogger logger, Guid taskId, string taskName, int attempt);

    [LoggerMessage(LogLevel.Information, "Task {TaskId} succeeded")]
    private static partial void LogSucceeded(ILogger logger, Guid taskId);

    [LoggerMessage(LogLevel.Information, "Task {TaskId} ended with {Outcome} after {ElapsedMs:0} ms")]
    private static partial void LogFinished(ILogger logger, Guid taskId, string outcome, double elapsedMs);

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: interrupted (worker stopping, or its broker connection lost); its message goes back to the queue")]
    private static partial void LogRequeued(ILogger logger, Guid taskId);

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: put back without an outcome ({Reason}); its message goes back to the queue and the task runs again")]
    private static partial void LogPutBack(ILogger logger, Exception? e, Guid taskId, string reason);

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: its lease could not be handed back; it runs out instead")]
    private static partial void LogLeaseKept(ILogger logger, Exception e, Guid taskId);

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: another attempt took the task over; this attempt's outcome is discarded")]
    private static partial void LogClaimLost(ILogger logger, Guid taskId);

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: its handler was abandoned, but its database session {Backend} could not be ended")]
    private static partial void LogAbandonedSessionLeft(ILogger logger, Exception? e, Guid taskId, int backend);

    [LoggerMessage(LogLevel.Error, "Task {TaskId}: an after-commit callback failed")]
    private static partial void LogAfterCommitFailed(ILogger logger, Exception e, Guid taskId);
}

/// <summary>An attempt ended without an outcome (see <see cref="TaskRunner"/>): its message goes back to the queue.</summary>
public sealed class TaskPutBackException(string message, Exception? inner) : Exception(message, inner);
