using Microsoft.EntityFrameworkCore;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

/// <summary>The one database of Tasks. Workers get one instance per message, through the message's DI scope.</summary>
public sealed class TasksDbContext(DbContextOptions<TasksDbContext> options) : DbContext(options)
{
    public DbSet<TaskRecord> Tasks => Set<TaskRecord>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(TasksDbContext).Assembly);
}
