using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tasks.Core.Auth;

namespace Tasks.Core.Data;

/// <summary>
/// The one explicit schema step (<c>dotnet Tasks.Web.dll migrate</c>, and the test fixtures): applies the EF Core
/// migrations, stores the bootstrap API key (<c>Auth:BootstrapApiKey</c>) and sets the dashboard's first admin
/// (<c>admin</c>, password <c>Auth:AdminPassword</c>) when they are configured.
/// Hosts never migrate at start-up, so several of them starting at once can't race on the schema.
/// </summary>
public static partial class TasksDatabase
{
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TasksDbContext>();
        await db.Database.MigrateAsync(ct);
        var applied = (await db.Database.GetAppliedMigrationsAsync(ct)).ToList();
        var logger = scope.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TasksDatabase));
        LogMigrated(logger, applied.Count, applied.LastOrDefault());

        var key = scope.ServiceProvider.GetRequiredService<IConfiguration>()["Auth:BootstrapApiKey"];
        if (!string.IsNullOrEmpty(key))
            await ApiKeys.UpsertAsync(db, ApiKeys.BootstrapName, key, scope.ServiceProvider.GetRequiredService<TimeProvider>(), ct);
        var adminPassword = scope.ServiceProvider.GetRequiredService<IConfiguration>()["Auth:AdminPassword"];
        if (!string.IsNullOrEmpty(adminPassword))
            await Users.EnsureAdminAsync(db, adminPassword, scope.ServiceProvider.GetRequiredService<TimeProvider>(), ct);
    }

    [LoggerMessage(LogLevel.Information, "Database migrated: {Count} migration(s) applied, latest {Latest}")]
    private static partial void LogMigrated(ILogger logger, int count, string? latest);
}
