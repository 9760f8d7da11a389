using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Data;

internal sealed class TaskRecordConfiguration : IEntityTypeConfiguration<TaskRecord>
{
    public void Configure(EntityTypeBuilder<TaskRecord> builder)
    {
        builder.ToTable("tasks");
        builder.HasKey(t => t.Id);
        builder.Property(t => t.Id).ValueGeneratedNever();
        builder.Property(t => t.Name).HasMaxLength(200);
        builder.Property(t => t.Queue).HasMaxLength(100);
        builder.Property(t => t.State).HasConversion(TaskStateMachine.Converter).HasMaxLength(16);
        builder.Property(t => t.Args).HasColumnType("jsonb");
        builder.Property(t => t.Result).HasColumnType("jsonb");
        builder.Property(t => t.ProgressMessage).HasMaxLength(1000);
        builder.Property(t => t.Worker).HasMaxLength(300);
        builder.Property(t => t.ScheduleName).HasMaxLength(200);
        builder.Property(t => t.IdempotencyKey).HasMaxLength(200);
        builder.Property(t => t.TraceParent).HasMaxLength(128);
        // The database's clock, not the enqueuing host's: the relay compares it with now() (docs/design.md). The
        // statement's time, not the transaction's: a row inserted late in a long transaction mustn't look orphaned.
        builder.Property(t => t.UpdatedAt).HasDefaultValueSql("clock_timestamp()");

        // Newest-first keyset paging by state: ids are UUIDv7, so id order is creation order. Paging by name or
        // queue goes through task_lookup (TaskLookupConfiguration), whose indexes the updates don't write.
        builder.HasIndex(t => new { t.State, t.Id });
        // An idempotency key is the caller's own: unique per API key (tasks enqueued without one share a space,
        // hence NULLS NOT DISTINCT). The key comes first, so the enqueuer's look-up by keys alone uses the index.
        builder.HasIndex(t => new { t.IdempotencyKey, t.ApiKeyId }).IsUnique().AreNullsDistinct(false)
            .HasFilter("idempotency_key IS NOT NULL");
        // The scheduler's release loop and the outbox sweeper scan only these small partial indexes.
        builder.HasIndex(t => t.ScheduledFor).HasDatabaseName("ix_tasks_due").HasFilter("state = 'scheduled'");
        builder.HasIndex(t => t.UpdatedAt, "ix_tasks_pending").HasDatabaseName("ix_tasks_pending").HasFilter("state = 'pending'");
        // Queued tasks whose message may be gone (Relay:QueuedGraceSeconds).
        builder.HasIndex(t => t.UpdatedAt, "ix_tasks_queued").HasDatabaseName("ix_tasks_queued").HasFilter("state = 'queued'");
        builder.HasIndex(t => t.FinishedAt).HasDatabaseName("ix_tasks_finished").HasFilter("finished_at IS NOT NULL");
        // A schedule's tasks (its fires), newest first: fire ids are UUIDv7-shaped with the fire time as their time.
        builder.HasIndex(t => new { t.ScheduleName, t.Id }).HasDatabaseName("ix_tasks_schedule").HasFilter("schedule_name IS NOT NULL");
        builder.HasIndex(t => t.HeartbeatAt).HasDatabaseName("ix_tasks_running").HasFilter("state = 'running'");
    }
}
