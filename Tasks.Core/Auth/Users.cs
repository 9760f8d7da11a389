using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Tasks.Core.Data;
using Tasks.Core.Entities;

namespace Tasks.Core.Auth;

/// <summary>
/// Dashboard users: passwords hashed by ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/> (PBKDF2, salted),
/// and a security stamp that changes with the password or the role, so sessions signed in before end.
/// </summary>
public static partial class Users
{
    /// <summary>The first admin, whose password <c>migrate</c> sets from <c>Auth:AdminPassword</c>.</summary>
    public const string AdminName = "admin";

    public const string NameRule = "1-100 characters: letters, digits, '.', '_', '-' or '@', starting with a letter or digit";
    public const int MinPasswordLength = 8;
    public const int MaxPasswordLength = 1024;
    public static readonly string PasswordRule = $"a password is {MinPasswordLength} to {MaxPasswordLength} characters";

    private static readonly PasswordHasher<DashboardUser> Hasher = new();

    /// <summary>Verified against when the user doesn't exist, so a sign-in takes as long either way.</summary>
    private static readonly string DummyHash = Hasher.HashPassword(null!, "not a password of anyone's");

    public static bool IsValidName(string? name) => name is not null && UserName().IsMatch(name);

    public static bool IsValidPassword(string? password) => password is { Length: >= MinPasswordLength and <= MaxPasswordLength };

    public static string NewStamp() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>A new user; false when the name is taken.</summary>
    public static async Task<bool> CreateAsync(TasksDbContext db, string name, UserRole role, string password, TimeProvider clock, CancellationToken ct)
    {
        if (!IsValidName(name)) throw new ArgumentException($"A user name is {NameRule}.", nameof(name));
        if (!IsValidPassword(password)) throw new ArgumentException(PasswordRule, nameof(password));
        if (await db.Users.AnyAsync(u => u.Name == name, ct)) return false;
        var now = clock.GetUtcNow();
        var user = new DashboardUser { Id = Guid.CreateVersion7(), Name = name, Role = role, PasswordHash = "", SecurityStamp = NewStamp(), CreatedAt = now, UpdatedAt = now };
        user.PasswordHash = Hasher.HashPassword(user, password);
        db.Users.Add(user);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            return false; // created by someone else between the look-up and the insert
        }
        return true;
    }

    /// <summary>
    /// Changes a user's role and/or password; either change renews the stamp, ending the user's sessions. False when
    /// there is no such user.
    /// </summary>
    public static async Task<bool> UpdateAsync(TasksDbContext db, string name, UserRole? role, string? password, TimeProvider clock, CancellationToken ct)
    {
        if (password is not null && !IsValidPassword(password)) throw new ArgumentException(PasswordRule, nameof(password));
        if (await db.Users.FirstOrDefaultAsync(u => u.Name == name, ct) is not { } user) return false;
        if (role is { } r) user.Role = r;
        if (password is not null) user.PasswordHash = Hasher.HashPassword(user, password);
        if (role is not null || password is not null)
        {
            user.SecurityStamp = NewStamp();
            user.UpdatedAt = clock.GetUtcNow();
            await db.SaveChangesAsync(ct);
        }
        return true;
    }

    public static async Task<bool> DeleteAsync(TasksDbContext db, string name, CancellationToken ct) =>
        await db.Users.Where(u => u.Name == name).ExecuteDeleteAsync(ct) > 0;

    /// <summary>
    /// <c>migrate</c>: the user <c>admin</c> with this password and the admin role, created or set. An unchanged
    /// password leaves the stamp alone, so running <c>migrate</c> again signs no one out.
    /// </summary>
    public static async Task EnsureAdminAsync(TasksDbContext db, string password, TimeProvider clock, CancellationToken ct)
    {
        if (await db.Users.FirstOrDefaultAsync(u => u.Name == AdminName, ct) is not { } user)
        {
            await CreateAsync(db, AdminName, UserRole.Admin, password, clock, ct);
            return;
        }
        var same = Hasher.VerifyHashedPassword(user, user.PasswordHash, password) != PasswordVerificationResult.Failed;
        if (!same || user.Role != UserRole.Admin) await UpdateAsync(db, AdminName, UserRole.Admin, password, clock, ct);
    }

    /// <summary>The user this name and password sign in as; null when either is wrong (in the same time either way).</summary>
    public static async Task<UserInfo?> VerifyAsync(TasksDbContext db, string name, string password, TimeProvider clock, CancellationToken ct)
    {
        var user = IsValidName(name) ? await db.Users.FirstOrDefaultAsync(u => u.Name == name, ct) : null;
        if (user is null || password.Length > MaxPasswordLength)
        {
            Hasher.VerifyHashedPassword(null!, DummyHash, password.Length > MaxPasswordLength ? "" : password);
            return null;
        }
        switch (Hasher.VerifyHashedPassword(user, user.PasswordHash, password))
        {
            case PasswordVerificationResult.Failed:
                return null;
            case PasswordVerificationResult.SuccessRehashNeeded:
                // An older hash format or iteration count: stored anew; the stamp stays, it's the same password.
                user.PasswordHash = Hasher.HashPassword(user, password);
                user.UpdatedAt = clock.GetUtcNow();
                await db.SaveChangesAsync(ct);
                break;
        }
        return Info(user);
    }

    /// <summary>What a session checks on each request: one row by primary key, two short columns.</summary>
    public static Task<SessionCheck?> SessionAsync(TasksDbContext db, Guid id, CancellationToken ct) =>
        db.Users.AsNoTracking().Where(u => u.Id == id).Select(u => new SessionCheck(u.Role, u.SecurityStamp)).FirstOrDefaultAsync(ct);

    public static Task<List<UserInfo>> ListAsync(TasksDbContext db, CancellationToken ct) =>
        db.Users.AsNoTracking().OrderBy(u => u.Name)
            .Select(u => new UserInfo(u.Id, u.Name, u.Role, u.SecurityStamp, u.CreatedAt, u.UpdatedAt)).ToListAsync(ct);

    public static Task<UserInfo?> FindAsync(TasksDbContext db, string name, CancellationToken ct) =>
        db.Users.AsNoTracking().Where(u => u.Name == name)
            .Select(u => new UserInfo(u.Id, u.Name, u.Role, u.SecurityStamp, u.CreatedAt, u.UpdatedAt)).FirstOrDefaultAsync(ct);

    private static UserInfo Info(DashboardUser u) => new(u.Id, u.Name, u.Role, u.SecurityStamp, u.CreatedAt, u.UpdatedAt);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")]
    private static partial Regex UserName();
}

/// <summary>A user as shown and as signed in: never the password hash.</summary>
public sealed record UserInfo(Guid Id, string Name, UserRole Role, string SecurityStamp, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record SessionCheck(UserRole Role, string SecurityStamp);
