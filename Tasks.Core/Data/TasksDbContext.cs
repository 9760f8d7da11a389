using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

/// <summary>The one database of Tasks. Workers get one instance per message, through the message's DI scope.</summary>
public sealed class TasksDbContext(DbContextOptions<TasksDbContext> options) : DbContext(options), IDataProtectionKeyContext
{
    public DbSet<TaskRecord> Tasks => Set<TaskRecord>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<WorkerRecord> Workers => Set<WorkerRecord>();
    public DbSet<DashboardUser> Users => Set<DashboardUser>();
    /// <summary>The web hosts' Data Protection key ring (what signs the dashboard's cookies), shared by every instance.</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<MonitorSnapshot> MonitorSnapshots => Set<MonitorSnapshot>();
    public DbSet<MonitorAlert> MonitorAlerts => Set<MonitorAlert>();
    public DbSet<TaskAttempt> TaskAttempts => Set<TaskAttempt>();
    public DbSet<ScheduleRecord> Schedules => Set<ScheduleRecord>();

    /// <summary>Read only: written by the triggers on <c>tasks</c>.</summary>
    public IQueryable<TaskLookup> TaskLookup => Set<TaskLookup>().AsNoTracking();

    /// <summary>Set once its user was given up on while still running: it never opens a connection again.</summary>
    public bool Abandoned { get; private set; }

    /// <summary>
    /// For a context whose user may go on using it after its owner gave up on it (a worker abandoning a handler that
    /// ignores its token): EF Core may never open a connection for it again (<see cref="AbandonedContextGuard"/>).
    /// Such a context must never go back to the pool.
    /// </summary>
    public void Abandon() => Abandoned = true;

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(TasksDbContext).Assembly);
}
