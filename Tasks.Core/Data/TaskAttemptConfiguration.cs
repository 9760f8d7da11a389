using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

internal sealed class TaskAttemptConfiguration : IEntityTypeConfiguration<TaskAttempt>
{
    public void Configure(EntityTypeBuilder<TaskAttempt> builder)
    {
        // Written by the lifecycle's moves only; no foreign key: its checks would run on every update of tasks
        // (the hot path), so a delete trigger on tasks removes a task's attempts instead (see the Attempts migration).
        builder.ToTable("task_attempts");
        builder.HasKey(a => new { a.TaskId, a.Attempt });
        builder.Property(a => a.Worker).HasMaxLength(300); // as tasks.worker
    }
}
