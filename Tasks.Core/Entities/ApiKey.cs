using Tasks.Core.Auth;

namespace Tasks.Core.Entities;

/// <summary>An API key. Only its SHA-256 hash is stored; the key itself is shown once, when created.</summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Hash { get; set; }
    /// <summary>What the key may do; the least unless said otherwise.</summary>
    public ApiKeyScope Scope { get; set; } = ApiKeyScope.Read;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
