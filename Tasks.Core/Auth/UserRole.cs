namespace Tasks.Core.Auth;

/// <summary>What a dashboard user may do: a viewer reads, an admin also acts.</summary>
public enum UserRole
{
    Viewer,
    Admin,
}

public static class UserRoles
{
    public const string Viewer = "viewer";
    public const string Admin = "admin";

    public static string NameOf(UserRole role) => role == UserRole.Admin ? Admin : Viewer;

    public static UserRole Parse(string name) =>
        TryParse(name, out var role) ? role : throw new ArgumentOutOfRangeException(nameof(name), name, "a role is viewer or admin");

    public static bool TryParse(string? name, out UserRole role)
    {
        role = name switch { Admin => UserRole.Admin, _ => UserRole.Viewer };
        return name is Admin or Viewer;
    }
}
