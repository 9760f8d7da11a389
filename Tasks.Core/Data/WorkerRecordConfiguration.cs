using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

internal sealed class WorkerRecordConfiguration : IEntityTypeConfiguration<WorkerRecord>
{
    public void Configure(EntityTypeBuilder<WorkerRecord> builder)
    {
        builder.ToTable("workers");
        builder.HasKey(w => w.Name);
        builder.Property(w => w.Name).HasMaxLength(200);
        builder.Property(w => w.Host).HasMaxLength(200);
        builder.Property(w => w.Version).HasMaxLength(100);
        builder.Property(w => w.Queues).HasColumnType("jsonb");
        builder.Property(w => w.Stats).HasColumnType("jsonb");
        builder.Property(w => w.Running).HasDefaultValueSql("'{}'::uuid[]");
    }
}
