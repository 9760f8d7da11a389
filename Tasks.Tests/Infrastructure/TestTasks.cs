using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Tasks.Contracts;
using Tasks.Core.Entities;
using Tasks.Worker.Execution;

namespace Tasks.Tests.Infrastructure;

// Tasks that exist only in tests, to observe from outside what a handler's scope, DbContext and after-commit
// queue do. They're registered on the test stacks' web and worker hosts exactly as an application's would be.

/// <summary>Registers three after-commit callbacks; each records, at the time it runs, whether the task's success is already committed.</summary>
[TaskContract("test.aftercommit", MaxAttempts = 1)]
public sealed record AfterCommitArgs(string Marker, bool Fail = false);

/// <summary>Writes through its DbContext (tracked and direct SQL), then optionally throws.</summary>
[TaskContract("test.dbwrite", MaxAttempts = 1)]
public sealed record DbWriteArgs(Guid TrackedId, Guid SqlId, bool Fail = false);

/// <summary>Writes with plain ADO.NET on its DbContext's connection only (no EF Core command at all), then optionally throws.</summary>
[TaskContract("test.rawwrite", MaxAttempts = 1)]
public sealed record RawWriteArgs(Guid Id, bool Fail = false);

/// <summary>Returns <paramref name="Text"/> as its result, with a NUL character between its halves when asked (PostgreSQL can't store one).</summary>
[TaskContract("test.result", MaxAttempts = 3)]
public sealed record ResultArgs(string Text, bool Nul = false);

/// <summary>Records which DbContext instance it got, holding it (and its open transaction) for a while so runs overlap.</summary>
[TaskContract("test.context", MaxAttempts = 1)]
public sealed record ContextArgs(int HoldMilliseconds);

/// <summary>
/// Begins its transaction, then waits until the test lets it go (<see cref="TestObservations.Gates"/>) and reports
/// progress: what a long task does while the database restarts under it.
/// </summary>
[TaskContract("test.gated", MaxAttempts = 1)]
public sealed record GatedArgs(Guid Gate);

/// <summary>Ignores its token: for the abandon-after-grace path.</summary>
[TaskContract("test.stubborn", MaxAttempts = 1, TimeLimitSeconds = 1)]
public sealed record StubbornArgs(int Seconds);

/// <summary>
/// Ignores its token past the grace period (in <c>Task.Delay</c>, or after a write, in a query), then tries to write
/// through its DbContext and its connection.
/// </summary>
[TaskContract("test.lingering", MaxAttempts = 1, TimeLimitSeconds = 1)]
public sealed record LingeringArgs(Guid Id, int Seconds, bool InQuery = false, bool Quiet = false);

/// <summary>Carries a secret; logs a line of its own while it runs.</summary>
[TaskContract("test.secret", MaxAttempts = 1)]
public sealed record SecretArgs(string User, [property: Sensitive] string Password);

/// <summary>Waits in a query of its own (<c>pg_sleep</c> on its DbContext): what a busy task is doing when the database goes.</summary>
[TaskContract("test.pgsleep", MaxAttempts = 1)]
public sealed record PgSleepArgs(double Seconds);

/// <summary>Sleeps, honouring its token; notes each run's start and end on this process's monotonic clock, and whether it ran to its end.</summary>
[TaskContract("test.exclusive", MaxAttempts = 1)]
public sealed record ExclusiveArgs(Guid Run, int Seconds);

/// <summary>
/// A query of its own that outlasts its timeout: the server's (<c>statement_timeout</c>, error 57014) or the
/// client's (Npgsql's <c>CommandTimeout</c>, which cancels it). The handler's own failure, not a lost connection.
/// </summary>
[TaskContract("test.querytimeout", MaxAttempts = 1)]
public sealed record QueryTimeoutArgs(bool ServerSide);

public sealed class AfterCommitHandler(NpgsqlDataSource dataSource) : ITaskHandler<AfterCommitArgs>
{
    public Task<TaskOutcome> RunAsync(AfterCommitArgs args, TaskContext context)
    {
        for (var step = 1; step <= 3; step++)
        {
            var n = step;
            context.AfterCommit(async ct =>
            {
                // Another connection sees only committed data: 'succeeded' here proves the commit came first.
                await using var cmd = dataSource.CreateCommand("SELECT state FROM tasks WHERE id = $1");
                cmd.Parameters.Add(new() { Value = context.TaskId });
                var state = (string)(await cmd.ExecuteScalarAsync(ct))!;
                TestObservations.AfterCommit.Enqueue((args.Marker, n, state));
            });
        }
        return args.Fail ? throw new InvalidOperationException("failing after registering callbacks") : Task.FromResult(TaskOutcome.Succeeded());
    }
}

public sealed class DbWriteHandler : ITaskHandler<DbWriteArgs>
{
    public async Task<TaskOutcome> RunAsync(DbWriteArgs args, TaskContext context)
    {
        var now = DateTimeOffset.UtcNow;
        context.Db.ApiKeys.Add(new ApiKey { Id = args.TrackedId, Name = "tracked-" + args.TrackedId, Hash = args.TrackedId.ToString("N") + "0", CreatedAt = now });
        await context.Db.Database.ExecuteSqlAsync(
            $"INSERT INTO api_keys (id, name, hash, created_at) VALUES ({args.SqlId}, {"sql-" + args.SqlId}, {args.SqlId.ToString("N") + "1"}, {now})");
        if (args.Fail) throw new InvalidOperationException("handler failed after writing");
        return TaskOutcome.Succeeded();
    }
}

public sealed class RawWriteHandler : ITaskHandler<RawWriteArgs>
{
    public async Task<TaskOutcome> RunAsync(RawWriteArgs args, TaskContext context)
    {
        var connection = context.Db.Database.GetDbConnection();
        await using var cmd = connection.CreateCommand();
        cmd.CommandText = "INSERT INTO api_keys (id, name, hash, created_at) VALUES (@id, @name, @hash, now())";
        cmd.Parameters.Add(new NpgsqlParameter("id", args.Id));
        cmd.Parameters.Add(new NpgsqlParameter("name", "raw-" + args.Id));
        cmd.Parameters.Add(new NpgsqlParameter("hash", args.Id.ToString("N") + "2"));
        await cmd.ExecuteNonQueryAsync(context.CancellationToken);
        if (args.Fail) throw new InvalidOperationException("handler failed after writing");
        return TaskOutcome.Succeeded();
    }
}

public sealed class ResultHandler : ITaskHandler<ResultArgs>
{
    public Task<TaskOutcome> RunAsync(ResultArgs args, TaskContext context) =>
        Task.FromResult(TaskOutcome.Succeeded(new { text = args.Nul ? args.Text + "\0" + args.Text : args.Text }));
}

public sealed class ContextHandler : ITaskHandler<ContextArgs>
{
    public async Task<TaskOutcome> RunAsync(ContextArgs args, TaskContext context)
    {
        var now = Interlocked.Increment(ref TestObservations.Concurrent);
        int seen;
        while ((seen = Volatile.Read(ref TestObservations.MaxConcurrent)) < now)
            Interlocked.CompareExchange(ref TestObservations.MaxConcurrent, now, seen);
        TestObservations.Contexts[context.TaskId] = (context.Db.ContextId.InstanceId, System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(context.Db));
        // Its transaction begins on the server, then stays open while the handler waits (off the connection).
        await context.Db.Database.ExecuteSqlAsync($"SELECT 1", context.CancellationToken);
        await Task.Delay(args.HoldMilliseconds, context.CancellationToken);
        Interlocked.Decrement(ref TestObservations.Concurrent);
        return TaskOutcome.Succeeded();
    }
}

public sealed class GatedHandler : ITaskHandler<GatedArgs>
{
    public async Task<TaskOutcome> RunAsync(GatedArgs args, TaskContext context)
    {
        var gate = TestObservations.Gates.GetOrAdd(args.Gate, _ => new(TaskCreationOptions.RunContinuationsAsynchronously));
        await context.Db.Database.ExecuteSqlAsync($"SELECT 1", context.CancellationToken);
        await context.ReportProgressAsync(0, 1, "waiting for the gate");
        await gate.Task.WaitAsync(context.CancellationToken);
        await context.ReportProgressAsync(1, 1, "through");
        return TaskOutcome.Succeeded();
    }
}

public sealed class StubbornHandler : ITaskHandler<StubbornArgs>
{
    public async Task<TaskOutcome> RunAsync(StubbornArgs args, TaskContext context)
    {
        await Task.Delay(TimeSpan.FromSeconds(args.Seconds), CancellationToken.None);
        return TaskOutcome.Succeeded();
    }
}

public sealed class LingeringHandler : ITaskHandler<LingeringArgs>
{
    public async Task<TaskOutcome> RunAsync(LingeringArgs args, TaskContext context)
    {
        var db = context.Db;
        var tried = new List<string>();
        if (args.Quiet)
        {
            // Wakes up and returns without touching the database again.
            await Task.Delay(TimeSpan.FromSeconds(args.Seconds), CancellationToken.None);
            TestObservations.LateWrites[args.Id] = tried;
            return TaskOutcome.Succeeded();
        }
        if (args.InQuery)
        {
            await db.Database.ExecuteSqlAsync(
                $"INSERT INTO api_keys (id, name, hash, created_at) VALUES ({Guid.NewGuid()}, {$"lingering-{args.Id}-early"}, {Guid.NewGuid().ToString("N")}, now())");
            try
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_sleep({args.Seconds})"); // without its token
                tried.Add("query: finished");
            }
            catch (Exception e)
            {
                tried.Add($"query: {(e is Npgsql.PostgresException p ? p.SqlState : e.GetType().Name)}"); // and goes on to write
            }
        }
        else
        {
            await Task.Delay(TimeSpan.FromSeconds(args.Seconds), CancellationToken.None);
        }
        async Task TryAsync(string how, Func<Task> write)
        {
            try
            {
                await write();
                tried.Add(how + ": sent");
            }
            catch (Exception e)
            {
                tried.Add($"{how}: {e.GetType().Name}");
            }
        }
        await TryAsync("tracked", async () =>
        {
            db.ApiKeys.Add(new ApiKey { Id = Guid.NewGuid(), Name = $"lingering-{args.Id}-tracked", Hash = Guid.NewGuid().ToString("N"), CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
        });
        await TryAsync("sql", () => db.Database.ExecuteSqlAsync(
            $"INSERT INTO api_keys (id, name, hash, created_at) VALUES ({Guid.NewGuid()}, {$"lingering-{args.Id}-sql"}, {Guid.NewGuid().ToString("N")}, now())"));
        await TryAsync("raw", async () =>
        {
            await using var cmd = db.Database.GetDbConnection().CreateCommand();
            cmd.CommandText = $"INSERT INTO api_keys (id, name, hash, created_at) VALUES ('{Guid.NewGuid()}', 'lingering-{args.Id}-raw', '{Guid.NewGuid():N}', now())";
            await cmd.ExecuteNonQueryAsync();
        });
        TestObservations.LateWrites[args.Id] = tried;
        return TaskOutcome.Succeeded();
    }
}

public sealed partial class SecretHandler(Microsoft.Extensions.Logging.ILogger<SecretHandler> logger) : ITaskHandler<SecretArgs>
{
    public Task<TaskOutcome> RunAsync(SecretArgs args, TaskContext context)
    {
        LogSigningIn(logger, args.User);
        return Task.FromResult(TaskOutcome.Succeeded(new { user = args.User }));
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Microsoft.Extensions.Logging.LogLevel.Information, "Signing in {User}")]
    private static partial void LogSigningIn(Microsoft.Extensions.Logging.ILogger logger, string user);
}

public sealed class PgSleepHandler : ITaskHandler<PgSleepArgs>
{
    public async Task<TaskOutcome> RunAsync(PgSleepArgs args, TaskContext context)
    {
        TestObservations.InQuery[context.TaskId] = context.Attempt;
        await context.Db.Database.ExecuteSqlAsync($"SELECT pg_sleep({args.Seconds})", context.CancellationToken);
        return TaskOutcome.Succeeded();
    }
}

public sealed class ExclusiveHandler : ITaskHandler<ExclusiveArgs>
{
    public async Task<TaskOutcome> RunAsync(ExclusiveArgs args, TaskContext context)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        TestObservations.Started.AddOrUpdate(args.Run, 1, (_, n) => n + 1);
        var completed = false;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(args.Seconds), context.CancellationToken);
            completed = true;
            return TaskOutcome.Succeeded();
        }
        finally
        {
            TestObservations.Runs.GetOrAdd(args.Run, _ => new())
                .Enqueue((context.Worker, start, System.Diagnostics.Stopwatch.GetTimestamp(), completed));
        }
    }
}

public sealed class QueryTimeoutHandler : ITaskHandler<QueryTimeoutArgs>
{
    public async Task<TaskOutcome> RunAsync(QueryTimeoutArgs args, TaskContext context)
    {
        if (args.ServerSide) await context.Db.Database.ExecuteSqlRawAsync("SET LOCAL statement_timeout = 200", context.CancellationToken);
        else context.Db.Database.SetCommandTimeout(1);
        await context.Db.Database.ExecuteSqlRawAsync("SELECT pg_sleep(5)", context.CancellationToken);
        return TaskOutcome.Succeeded();
    }
}
