namespace Tasks.Core.Lifecycle;

internal static class StoredText
{
    /// <summary>Text PostgreSQL will store: no NUL characters, at most <paramref name="max"/> chars, no half surrogate pair.</summary>
    public static string Truncate(string s, int max)
    {
        if (s.Contains('\0', StringComparison.Ordinal)) s = s.Replace("\0", "", StringComparison.Ordinal);
        if (s.Length <= max) return s;
        return char.IsHighSurrogate(s[max - 1]) ? s[..(max - 1)] : s[..max];
    }
}
