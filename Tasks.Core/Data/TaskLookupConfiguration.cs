using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

internal sealed class TaskLookupConfiguration : IEntityTypeConfiguration<TaskLookup>
{
    public void Configure(EntityTypeBuilder<TaskLookup> builder)
    {
        // Written by the triggers on tasks only; no key of its own (an index fewer), the task's id is its key.
        builder.ToTable("task_lookup");
        builder.HasNoKey();
        builder.Property(t => t.Name).HasMaxLength(200);
        builder.Property(t => t.Queue).HasMaxLength(100);
        // Newest-first keyset paging by name or queue: ids are UUIDv7, so id order is creation order.
        builder.HasIndex(t => new { t.Name, t.Id });
        builder.HasIndex(t => new { t.Queue, t.Id });
    }
}
