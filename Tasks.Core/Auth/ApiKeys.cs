using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Entities;

namespace Tasks.Core.Auth;

/// <summary>API keys: random, shown once, stored only as a SHA-256 hash (a key has 256 bits of entropy, so a slow hash adds nothing).</summary>
public static partial class ApiKeys
{
    /// <summary>The name <c>migrate</c> stores <c>Auth:BootstrapApiKey</c> under.</summary>
    public const string BootstrapName = "bootstrap";

    public static string Generate() => "tk_" + Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Key names: what <c>keys create</c> accepts (the bootstrap key's name fits too).</summary>
    public static bool IsValidName(string name) => KeyName().IsMatch(name);

    public const string NameRule = "1-100 characters: letters, digits, '.', '_', '-' or '@', starting with a letter or digit";

    /// <summary>
    /// Stores the configured bootstrap key under <paramref name="name"/> with the <c>admin</c> scope, replacing that
    /// name's earlier key. The same key revoked by an operator stays revoked: only a new key takes its place.
    /// </summary>
    public static async Task UpsertAsync(TasksDbContext db, string name, string key, TimeProvider clock, CancellationToken ct)
    {
        var hash = Hash(key);
        var existing = await db.ApiKeys.FirstOrDefaultAsync(k => k.Name == name, ct);
        if (existing is null)
        {
            db.ApiKeys.Add(new ApiKey { Id = Guid.CreateVersion7(), Name = name, Hash = hash, Scope = ApiKeyScope.Admin, CreatedAt = clock.GetUtcNow() });
        }
        else if (existing.Hash != hash)
        {
            existing.Hash = hash;
            existing.Scope = ApiKeyScope.Admin;
            existing.RevokedAt = null;
            existing.CreatedAt = clock.GetUtcNow();
        }
        await db.SaveChangesAsync(ct);
    }

    /// <summary>A new key named <paramref name="name"/>; null when that name is taken (names are never reused, revoked or not).</summary>
    public static async Task<string?> CreateAsync(TasksDbContext db, string name, ApiKeyScope scope, TimeProvider clock, CancellationToken ct)
    {
        if (!IsValidName(name)) throw new ArgumentException($"A key name is {NameRule}.", nameof(name));
        if (await db.ApiKeys.AnyAsync(k => k.Name == name, ct)) return null;
        var key = Generate();
        db.ApiKeys.Add(new ApiKey { Id = Guid.CreateVersion7(), Name = name, Hash = Hash(key), Scope = scope, CreatedAt = clock.GetUtcNow() });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return null; // created by someone else between the look-up and the insert
        }
        return key;
    }

    /// <summary>Revokes the key named <paramref name="name"/>; false when there is none. Revoking twice keeps the first time.</summary>
    public static async Task<bool> RevokeAsync(TasksDbContext db, string name, TimeProvider clock, CancellationToken ct)
    {
        var existing = await db.ApiKeys.FirstOrDefaultAsync(k => k.Name == name, ct);
        if (existing is null) return false;
        existing.RevokedAt ??= clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return true;
    }

    /// <summary>Every key, oldest first, without its hash.</summary>
    public static Task<List<ApiKeyInfo>> ListAsync(TasksDbContext db, CancellationToken ct) =>
        db.ApiKeys.AsNoTracking().OrderBy(k => k.CreatedAt).ThenBy(k => k.Name)
            .Select(k => new ApiKeyInfo(k.Id, k.Name, k.Scope, k.CreatedAt, k.RevokedAt)).ToListAsync(ct);

    /// <summary>The key with this hash, revoked or not; null when no key has it.</summary>
    public static Task<ApiKeyInfo?> FindAsync(TasksDbContext db, string hash, CancellationToken ct) =>
        db.ApiKeys.AsNoTracking().Where(k => k.Hash == hash)
            .Select(k => new ApiKeyInfo(k.Id, k.Name, k.Scope, k.CreatedAt, k.RevokedAt)).FirstOrDefaultAsync(ct);

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")]
    private static partial Regex KeyName();
}

/// <summary>An API key as shown and as checked: never the key or its hash.</summary>
public sealed record ApiKeyInfo(Guid Id, string Name, ApiKeyScope Scope, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);
