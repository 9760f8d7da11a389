using System.Text;
using System.Text.Json;

namespace Tasks.Core.Registry;

/// <summary>
/// Whether JSON can be stored in a PostgreSQL <c>jsonb</c> column as it is: JSON allows what <c>jsonb</c> refuses
/// (numbers beyond <c>numeric</c>'s range, a lone UTF-16 surrogate written as a <c>\u</c> escape), and an insert
/// that fails on it would fail every other task written in the same statement too.
/// </summary>
public static class StorableJson
{
    /// <summary>PostgreSQL's <c>numeric</c>: at most 131072 digits before the decimal point and 16383 after.</summary>
    public const int MaxIntegerDigits = 131072, MaxScale = 16383;

    /// <summary>The first thing in <paramref name="json"/> that <c>jsonb</c> can't hold, as (path below the root, message), or null.</summary>
    public static (string Path, string Message)? Problem(JsonElement json)
    {
        var reader = new Utf8JsonReader(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(json), new JsonReaderOptions { MaxDepth = 1000 });
        var path = new JsonPath();
        try
        {
            while (reader.Read())
                if (Problem(ref reader, path) is { } message) return (path.ToString(), message);
        }
        catch (InvalidOperationException e)
        {
            return (path.ToString(), $"{e.Message.TrimEnd('.')} (a \\u escape of half a surrogate pair): not valid Unicode, which PostgreSQL can't store.");
        }
        catch (JsonException e)
        {
            return (path.ToString(), e.Message);
        }
        return null;
    }

    // One token: moves the path along and says what jsonb can't hold about it. Reading an escaped string throws on a lone surrogate.
    private static string? Problem(ref Utf8JsonReader reader, JsonPath path)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.PropertyName:
                path.Property = reader.GetString();
                return null;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                path.Enter();
                path.Push(array: reader.TokenType == JsonTokenType.StartArray);
                return null;
            case JsonTokenType.EndObject or JsonTokenType.EndArray:
                path.Pop();
                return null;
            case JsonTokenType.String:
                path.Enter();
                if (reader.ValueIsEscaped) reader.GetString();
                return null;
            case JsonTokenType.Number:
                path.Enter();
                return FitsNumeric(reader.ValueSpan) ? null
                    : $"{Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 40)])} doesn't fit PostgreSQL's numeric type (at most {MaxIntegerDigits} digits before the decimal point and {MaxScale} after).";
            default:
                path.Enter();
                return null;
        }
    }

    /// <summary>Whether a JSON number's text is within <c>numeric</c>'s range (its integer digits and its scale).</summary>
    public static bool FitsNumeric(ReadOnlySpan<byte> number)
    {
        var s = number;
        if (s.Length > 0 && s[0] == '-') s = s[1..];
        var e = s.IndexOfAny((byte)'e', (byte)'E');
        long exponent = 0;
        if (e >= 0)
        {
            var exp = s[(e + 1)..];
            var negative = exp.Length > 0 && exp[0] == '-';
            if (exp.Length > 0 && exp[0] is (byte)'-' or (byte)'+') exp = exp[1..];
            exp = exp.TrimStart((byte)'0');
            if (exp.Length > 9) return false; // PostgreSQL refuses such exponents outright, even of zero
            foreach (var d in exp) exponent = exponent * 10 + (d - '0');
            if (negative) exponent = -exponent;
            s = s[..e];
        }
        var dot = s.IndexOf((byte)'.');
        var integer = dot < 0 ? s : s[..dot];
        var fraction = dot < 0 ? [] : s[(dot + 1)..];
        if (Math.Max(0, fraction.Length - exponent) > MaxScale) return false;

        // Digits before the point: from the first non-zero digit, moved by the exponent.
        var leading = integer.TrimStart((byte)'0');
        long integerDigits;
        if (leading.Length > 0) integerDigits = leading.Length + exponent;
        else
        {
            var zeros = fraction.Length - fraction.TrimStart((byte)'0').Length;
            if (zeros == fraction.Length) return true; // zero
            integerDigits = exponent - zeros;
        }
        return integerDigits <= MaxIntegerDigits;
    }

    /// <summary>Where the reader is, as <c>.a.b[2]</c>: property names (string) and array indexes (int), root first.</summary>
    private sealed class JsonPath
    {
        private readonly List<object> _steps = [];

        /// <summary>The property name just read, for the value that follows it.</summary>
        public string? Property { get; set; }

        // A value (or container) begins: in an array it is the next element, in an object the property just read.
        public void Enter()
        {
            if (_steps.Count == 0) return;
            if (_steps[^1] is int i) _steps[^1] = i + 1;
            else _steps[^1] = Property ?? "";
        }

        public void Push(bool array) => _steps.Add(array ? -1 : "");

        public void Pop() => _steps.RemoveAt(_steps.Count - 1);

        public override string ToString()
        {
            var sb = new StringBuilder();
            foreach (var p in _steps)
                if (p is int i) sb.Append('[').Append(Math.Max(i, 0)).Append(']');
                else sb.Append('.').Append((string)p);
            return sb.ToString();
        }
    }
}
