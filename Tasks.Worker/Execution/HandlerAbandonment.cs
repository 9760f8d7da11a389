using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tasks.Core.Data;

namespace Tasks.Worker.Execution;

/// <summary>
/// Gives up on a handler that outlived its stop grace: its database session is ended (<c>pg_terminate_backend</c>,
/// which rolls its work back and fails whatever it sends later), its context never connects again, and its scope is
/// left to the garbage collector. Its connection is never touched from here (two readers of one socket hang).
/// See docs/design.md#abandoning-a-handler-that-ignores-its-token-issue-24
/// </summary>
public sealed partial class HandlerAbandonment(NpgsqlDataSource database, TimeProvider clock, ILogger<HandlerAbandonment> logger)
{
    public async Task AbandonAsync(TasksDbContext db, Task handler, Guid taskId)
    {
        db.Abandon();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        var backend = SessionOf(connection);
        DisposeWhenDone(connection, handler, sessionEnded: backend != 0);
        if (backend != 0) await EndSessionAsync(backend, taskId);
    }

    /// <summary>
    /// The server session this attempt opened, or 0: only the handler could have closed the connection (handing the
    /// session on to someone else), and then there's nothing to end. Read while the handler may be using it.
    /// </summary>
    private static int SessionOf(NpgsqlConnection connection)
    {
        try
        {
            return connection.State == System.Data.ConnectionState.Open ? connection.ProcessID : 0;
        }
        catch (Exception)
        {
            return 0; // broken or closed meanwhile: its session is gone already
        }
    }

    /// <summary>
    /// Once the handler is done with it, the connection is closed, not pooled: one whose session was ended but which
    /// never read the news would look healthy to its next user. Clearing the data source's pool makes it be closed.
    /// </summary>
    private void DisposeWhenDone(NpgsqlConnection connection, Task handler, bool sessionEnded) =>
        _ = handler.ContinueWith(async _ =>
        {
            if (sessionEnded) database.Clear();
            await connection.DisposeAsync();
        }, TaskScheduler.Default).Unwrap().ContinueWith(t => t.Exception, TaskScheduler.Default); // a broken connection may throw as it goes

    private async Task EndSessionAsync(int backend, Guid taskId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10), clock);
            await using var end = database.CreateCommand("SELECT pg_terminate_backend($1, 5000)"); // waits for it to exit
            end.Parameters.Add(new NpgsqlParameter<int> { TypedValue = backend });
            if (await end.ExecuteScalarAsync(timeout.Token) is not true)
                LogSessionLeft(logger, null, taskId, backend); // still there after 5 s, or not ours to end
        }
        catch (Exception e)
        {
            // The database is unreachable (then so is the session), or slow: the session ends when its connection does.
            LogSessionLeft(logger, e, taskId, backend);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: its handler was abandoned, but its database session {Backend} could not be ended")]
    private static partial void LogSessionLeft(ILogger logger, Exception? e, Guid taskId, int backend);
}
