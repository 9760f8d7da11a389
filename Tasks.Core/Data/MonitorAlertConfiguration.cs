using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

internal sealed class MonitorAlertConfiguration : IEntityTypeConfiguration<MonitorAlert>
{
    public void Configure(EntityTypeBuilder<MonitorAlert> builder)
    {
        builder.ToTable("monitor_alerts");
        builder.HasKey(a => a.Id);
        builder.Property(a => a.Kind).HasMaxLength(50);
        builder.Property(a => a.Subject).HasMaxLength(300);
        // One open alert per condition: the camera raises with ON CONFLICT DO NOTHING.
        builder.HasIndex(a => new { a.Kind, a.Subject }).IsUnique().HasDatabaseName("ix_monitor_alerts_open").HasFilter("ended_at IS NULL");
        builder.HasIndex(a => a.EndedAt).HasDatabaseName("ix_monitor_alerts_ended").HasFilter("ended_at IS NOT NULL");
        builder.HasIndex(a => new { a.StartedAt, a.Id });
    }
}
