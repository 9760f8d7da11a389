using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

internal sealed class ScheduleRecordConfiguration : IEntityTypeConfiguration<ScheduleRecord>
{
    public void Configure(EntityTypeBuilder<ScheduleRecord> builder)
    {
        builder.ToTable("schedules");
        builder.HasKey(s => s.Name);
        builder.Property(s => s.Name).HasMaxLength(200);
        builder.Property(s => s.Source).HasMaxLength(20);
        builder.Property(s => s.Cadence).HasMaxLength(40);
        builder.Property(s => s.Since).HasDefaultValueSql("now()");
        builder.HasIndex(s => s.Cadence); // a fire reads its cadence's schedules
    }
}
