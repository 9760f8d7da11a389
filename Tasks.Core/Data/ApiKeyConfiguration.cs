using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Tasks.Core.Auth;
using Tasks.Core.Entities;

namespace Tasks.Core.Data;

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("api_keys", t => t.HasCheckConstraint("ck_api_keys_scope", "scope IN ('read', 'enqueue', 'admin')"));
        builder.HasKey(k => k.Id);
        builder.Property(k => k.Name).HasMaxLength(200);
        builder.Property(k => k.Hash).HasMaxLength(64);
        builder.Property(k => k.Scope).HasMaxLength(16)
            .HasConversion(s => ApiKeyScopes.NameOf(s), s => ApiKeyScopes.Parse(s));
        builder.HasIndex(k => k.Hash).IsUnique();
        builder.HasIndex(k => k.Name).IsUnique();
    }
}
