namespace Tasks.Core.Auth;

/// <summary>
/// What an API key may do; each scope includes the ones before it. <c>read</c>: list and look at tasks;
/// <c>enqueue</c>: also enqueue them; <c>admin</c>: also cancel, retry and enqueue maintenance tasks.
/// </summary>
public enum ApiKeyScope
{
    Read = 1,
    Enqueue = 2,
    Admin = 3,
}

public static class ApiKeyScopes
{
    public const string Read = "read";
    public const string Enqueue = "enqueue";
    public const string Admin = "admin";

    public static IReadOnlyList<string> Names { get; } = [Read, Enqueue, Admin];

    public static string NameOf(ApiKeyScope scope) => scope switch
    {
        ApiKeyScope.Read => Read,
        ApiKeyScope.Enqueue => Enqueue,
        ApiKeyScope.Admin => Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(scope), scope, null),
    };

    public static bool TryParse(string? name, out ApiKeyScope scope)
    {
        scope = name switch
        {
            Read => ApiKeyScope.Read,
            Enqueue => ApiKeyScope.Enqueue,
            Admin => ApiKeyScope.Admin,
            _ => 0,
        };
        return scope != 0;
    }

    /// <summary>A stored scope; anything unknown reads as the least one (the column's check constraint allows none).</summary>
    public static ApiKeyScope Parse(string name) => TryParse(name, out var scope) ? scope : ApiKeyScope.Read;

    /// <summary>Whether a key with <paramref name="granted"/> may do what needs <paramref name="needed"/>.</summary>
    public static bool Includes(this ApiKeyScope granted, ApiKeyScope needed) => granted >= needed;
}
