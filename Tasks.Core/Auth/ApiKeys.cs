using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Tasks.Core.Data;
using Tasks.Core.Entities;

namespace Tasks.Core.Auth;

/// <summary>API keys: random, shown once, stored only as a SHA-256 hash (a key has 256 bits of entropy, so a slow hash adds nothing).</summary>
public static class ApiKeys
{
    public static string Generate() => "tk_" + Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    public static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>Stores <paramref name="key"/> under <paramref name="name"/>, replacing that name's earlier key.</summary>
    public static async Task UpsertAsync(TasksDbContext db, string name, string key, TimeProvider clock, CancellationToken ct)
    {
        var hash = Hash(key);
        var existing = await db.ApiKeys.FirstOrDefaultAsync(k => k.Name == name, ct);
        if (existing is null)
        {
            db.ApiKeys.Add(new ApiKey { Id = Guid.CreateVersion7(), Name = name, Hash = hash, CreatedAt = clock.GetUtcNow() });
        }
        else if (existing.Hash != hash || existing.RevokedAt is not null)
        {
            existing.Hash = hash;
            existing.RevokedAt = null;
            existing.CreatedAt = clock.GetUtcNow();
        }
        await db.SaveChangesAsync(ct);
    }

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
