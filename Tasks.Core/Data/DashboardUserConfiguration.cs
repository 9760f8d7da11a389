using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Auth;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

internal sealed class DashboardUserConfiguration : IEntityTypeConfiguration<DashboardUser>
{
    public void Configure(EntityTypeBuilder<DashboardUser> builder)
    {
        builder.ToTable("users", t => t.HasCheckConstraint("ck_users_role", "role IN ('viewer', 'admin')"));
        builder.HasKey(u => u.Id);
        builder.Property(u => u.Name).HasMaxLength(100);
        builder.Property(u => u.Role).HasMaxLength(16).HasConversion(r => UserRoles.NameOf(r), r => UserRoles.Parse(r));
        builder.Property(u => u.PasswordHash).HasMaxLength(200);
        builder.Property(u => u.SecurityStamp).HasMaxLength(64);
        builder.HasIndex(u => u.Name).IsUnique();
    }
}
