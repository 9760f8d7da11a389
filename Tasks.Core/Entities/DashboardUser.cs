using Tasks.Core.Auth;

namespace Tasks.Core.Entities;

/// <summary>
/// Someone who signs in to the dashboard. The password is stored as ASP.NET Core Identity's hash; the security
/// stamp changes with the password or the role, which ends every session signed in before.
/// </summary>
public sealed class DashboardUser
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public UserRole Role { get; set; } = UserRole.Viewer;
    public required string PasswordHash { get; set; }
    public required string SecurityStamp { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
