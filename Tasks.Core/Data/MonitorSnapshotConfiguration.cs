using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

internal sealed class MonitorSnapshotConfiguration : IEntityTypeConfiguration<MonitorSnapshot>
{
    public void Configure(EntityTypeBuilder<MonitorSnapshot> builder)
    {
        builder.ToTable("monitor_snapshots");
        // The slot is the key: exactly one snapshot per interval, even if two schedulers fire it.
        builder.HasKey(s => s.At);
        builder.Property(s => s.Workers).HasColumnType("jsonb");
        builder.Property(s => s.States).HasColumnType("jsonb");
        builder.Property(s => s.Names).HasColumnType("jsonb");
        builder.Property(s => s.Queues).HasColumnType("jsonb");
        builder.Property(s => s.Baseline).HasColumnType("jsonb");
    }
}
