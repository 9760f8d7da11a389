namespace Tasks.Web.Apis;

/// <summary>Keyset cursors: the last id of a page, opaque to clients so the paging key can change later.</summary>
internal static class Cursor
{
    public static string Encode(Guid lastId) =>
        Convert.ToBase64String(lastId.ToByteArray(bigEndian: true)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryDecode(string cursor, out Guid lastId)
    {
        lastId = default;
        if (cursor.Length != 22) return false;
        var base64 = cursor.Replace('-', '+').Replace('_', '/') + "==";
        Span<byte> bytes = stackalloc byte[18];
        if (!Convert.TryFromBase64String(base64, bytes, out var written) || written != 16) return false;
        lastId = new Guid(bytes[..16], bigEndian: true);
        return true;
    }
}
