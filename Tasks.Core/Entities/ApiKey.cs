using Tasks.Core.Auth;

namespace Tasks.Core.Entities;

/// <summary>An API key. Only its SHA-256 hash is stored; the key itself is shown once, when created.</summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Hash { get; set; }
    public ApiKeyScope Scope { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
