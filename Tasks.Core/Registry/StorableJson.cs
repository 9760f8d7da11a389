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
        var path = new List<object>(); // property names (string) and array indexes (int), root first
        string? property = null;
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        property = reader.GetString(); // throws on a lone surrogate
                        continue;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        Enter();
                        path.Add(reader.TokenType == JsonTokenType.StartArray ? -1 : "");
                        continue;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        path.RemoveAt(path.Count - 1);
                        continue;
                    case JsonTokenType.String:
                        Enter();
                        if (reader.ValueIsEscaped) reader.GetString();
                        break;
                    case JsonTokenType.Number:
                        Enter();
                        if (!FitsNumeric(reader.ValueSpan))
                            return (Path(), $"{Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 40)])} doesn't fit PostgreSQL's numeric type (at most {MaxIntegerDigits} digits before the decimal point and {MaxScale} after).");
                        break;
                    default:
                        Enter();
                        break;
                }
            }
        }
        catch (InvalidOperationException e)
        {
            return (Path(), $"{e.Message.TrimEnd('.')} (a \\u escape of half a surrogate pair): not valid Unicode, which PostgreSQL can't store.");
        }
        catch (JsonException e)
        {
            return (Path(), e.Message);
        }
        return null;

        // A value (or container) begins: in an array it is the next element, in an object the property just read.
        void Enter()
        {
            if (path.Count == 0) return;
            if (path[^1] is int i) path[^1] = i + 1;
            else path[^1] = property ?? "";
        }

        string Path()
        {
            var sb = new StringBuilder();
            foreach (var p in path)
                if (p is int i) sb.Append('[').Append(Math.Max(i, 0)).Append(']');
                else sb.Append('.').Append((string)p);
            return sb.ToString();
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
}
