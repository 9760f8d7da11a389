using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Tasks.Core.Data;

/// <summary>
/// Refuses to open a connection for a context that was abandoned (<see cref="TasksDbContext.Abandon"/>): once its
/// connection is gone, EF Core would otherwise open a fresh one and commit the late writes on their own.
/// </summary>
internal sealed class AbandonedContextGuard : DbConnectionInterceptor
{
    public static readonly AbandonedContextGuard Instance = new();

    public override InterceptionResult ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        Check(eventData);
        return result;
    }

    public override ValueTask<InterceptionResult> ConnectionOpeningAsync(
        DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
    {
        Check(eventData);
        return ValueTask.FromResult(result);
    }

    private static void Check(ConnectionEventData eventData)
    {
        if (eventData.Context is TasksDbContext { Abandoned: true })
            throw new InvalidOperationException("This task's handler was abandoned (it went on past its cancellation and the stop grace): its database context can't be used any more.");
    }
}
