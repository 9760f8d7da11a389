using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Lifecycle;
using Tasks.Core.Registry;

namespace Tasks.Worker.Execution;

/// <summary>
/// One attempt's DI scope, <see cref="TasksDbContext"/> and transaction: the handler runs in them, and its work
/// commits with its success or not at all. Disposing ends the scope unsaved (rolling back whatever wasn't
/// committed), or abandons a handler still running. See docs/design.md#the-handlers-transaction-issue-24
/// </summary>
public sealed partial class HandlerTransaction : IAsyncDisposable
{
    private readonly HandlerTransactions _shared;
    private readonly AsyncServiceScope _scope;
    private readonly ClaimedTask _task;
    private readonly RunningTask _attempt;
    private readonly SlotHold _slot;
    private readonly AfterCommitQueue _afterCommit = new();
    private TasksDbContext? _db;
    private NpgsqlConnection? _connection;
    private NpgsqlTransaction? _transaction;
    private StrongBox<bool>? _usedDatabase;
    private Task<TaskOutcome>? _run;

    internal HandlerTransaction(HandlerTransactions shared, AsyncServiceScope scope, ClaimedTask task, RunningTask attempt, SlotHold slot) =>
        (_shared, _scope, _task, _attempt, _slot) = (shared, scope, task, attempt, slot);

    /// <summary>The handler was given up on and may still be running.</summary>
    public bool HandlerRunning => _run is { IsCompleted: false };

    public bool ConnectionBroken => _connection?.FullState.HasFlag(System.Data.ConnectionState.Broken) == true;

    /// <summary>Opens the transaction and runs the handler in it, within its time limit and stop grace.</summary>
    public async Task<TaskOutcome> RunAsync(HandlerRegistration handler)
    {
        LogStarted(_shared.Logger, _task.Id, _task.Name, _task.Attempt);
        _attempt.StartTimeLimit(_task.TimeLimitSeconds > 0 ? TimeSpan.FromSeconds(_task.TimeLimitSeconds) : Timeout.InfiniteTimeSpan);
        var db = _db = _scope.ServiceProvider.GetRequiredService<TasksDbContext>();
        // Npgsql's own transaction, lent to EF Core: BEGIN goes out with the handler's first command. Opened here, not
        // through EF Core, which would count it open twice and keep it open past CommitAsync's close.
        _connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await _connection.OpenAsync(_attempt.Token);
        _transaction = await _connection.BeginTransactionAsync(_attempt.Token);
        await db.Database.UseTransactionAsync(_transaction, _attempt.Token);
        var context = new TaskContext(_task, db, _afterCommit, _shared, _attempt.Token);
        _usedDatabase = DatabaseUse.Watch();
        try
        {
            _run = handler.InvokeAsync(_scope.ServiceProvider, _task.Args, context);
            var outcome = await _shared.Grace.WaitAsync(_run, _attempt);
            _attempt.Finishing();
            // A null (from a handler that lies about nullability) is not a success: nothing of it may commit.
            return outcome ?? new TaskOutcome.FailOutcome("The handler returned no outcome (null).");
        }
        finally
        {
            DatabaseUse.Unwatch();
        }
    }

    /// <summary>
    /// Writes the success with the handler's work and commits. Null when nothing is left to record (written, or the
    /// task was taken over: then its after-commit callbacks are dropped); otherwise what to record instead.
    /// </summary>
    internal async Task<TaskOutcome?> CommitAsync(TaskOutcome.SucceededOutcome success)
    {
        // Taken over meanwhile: another attempt may be running it now. (A renewal merely late doesn't stop a handler
        // that is done: its success is written only if the attempt still holds the task.)
        if (_attempt.LeaseTaken) return new TaskOutcome.PutBackOutcome("its lease was taken over", null, HandlerReturned: true);
        var result = success.Result is null ? null : JsonSerializer.Serialize(success.Result, TaskRegistry.ArgsJson);
        // Not storable, and running it again won't change that: a failure, its work rolled back.
        if (result is not null && TaskRegistry.ContainsNul(result))
            return new TaskOutcome.FailOutcome("Its result can't be stored: it contains NUL characters (\\u0000), which PostgreSQL can't hold.");
        if (await WriteSuccessAsync(result))
        {
            _shared.Telemetry.Succeeded(_task.Name, _task.Queue);
            _shared.Counters.Ended(_task.Name, Monitoring.AttemptEnd.Succeeded);
            LogSucceeded(_shared.Logger, _task.Id);
        }
        else
        {
            OutcomeRecorder.LogClaimLost(_shared.Logger, _task.Id);
            _afterCommit.Drain(); // rolled back: they never run
        }
        return null;
    }

    private async Task<bool> WriteSuccessAsync(string? result)
    {
        var db = _db!;
        if (!_usedDatabase!.Value && !db.ChangeTracker.HasChanges())
        {
            // The handler sent nothing: its transaction never began on the server, and the connection goes back to
            // the pool without a ROLLBACK. Its success is written with other tasks' in one statement; the slot is
            // free for the next task meanwhile, unless callbacks are to run after the commit (they are the task's).
            await db.Database.UseTransactionAsync(null, CancellationToken.None);
            await _connection!.CloseAsync();
            if (_afterCommit.Count == 0) _slot.Release();
            return await _shared.Lifecycle.SucceedAsync(_task, result);
        }
        await db.SaveChangesAsync(CancellationToken.None);
        var recorded = await _shared.Lifecycle.SucceedAsync(db, _task, result, CancellationToken.None);
        if (recorded) await _transaction!.CommitAsync(CancellationToken.None);
        return recorded;
    }

    /// <summary>The callbacks the handler registered, in order, now that its work is committed.</summary>
    public Task RunAfterCommitAsync() => _afterCommit.RunAsync(_task.Id, _shared.Logger);

    public ValueTask DisposeAsync() => HandlerRunning
        ? new ValueTask(_shared.Abandonment.AbandonAsync(_db!, _run!, _task.Id))
        : _scope.DisposeAsync(); // its DbContext (back to the pool) and its transaction end here, unsaved

    // One Information line per task, at its end: one at the start too cost a busy worker a good share of its
    // throughput (the console sink serialises every event), and the row, the trace and the metrics have the start.
    [LoggerMessage(LogLevel.Debug, "Task {TaskId} {TaskName} started, attempt {Attempt}")]
    private static partial void LogStarted(ILogger logger, Guid taskId, string taskName, int attempt);

    [LoggerMessage(LogLevel.Information, "Task {TaskId} succeeded")]
    private static partial void LogSucceeded(ILogger logger, Guid taskId);
}
