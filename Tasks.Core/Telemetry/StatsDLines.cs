using System.Globalization;
using System.Text;

namespace Tasks.Core.Telemetry;

/// <summary>How names, tags and values are written in a StatsD line: plain ASCII, invariant numbers.</summary>
internal static class StatsDLines
{
    internal static string Sanitize(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
            if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '_' or '.' or '-')) chars[i] = '_';
        return new string(chars);
    }

    // Sorted by key so the same tags in another order are the same series.
    internal static string FormatTags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty) return "";
        var sorted = tags.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder("|#");
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i > 0) text.Append(',');
            text.Append(Sanitize(sorted[i].Key)).Append(':').Append(Sanitize(TagValue(sorted[i].Value)));
        }
        return text.ToString();
    }

    // A leading sign makes a StatsD gauge value relative, so a negative level is set by zeroing first; both lines
    // travel as one unit so they stay in order in the same packet.
    internal static string Gauge(string name, double value, string tags) =>
        value < 0 ? $"{name}:0|g{tags}\n{name}:{Format(value)}|g{tags}" : $"{name}:{Format(value)}|g{tags}";

    // -0 would print as "-0", which a gauge reads as "subtract nothing".
    internal static string Format(double value) => (value == 0 ? 0 : value).ToString(CultureInfo.InvariantCulture);

    private static string TagValue(object? value)
    {
        try
        {
            return value switch
            {
                null => "",
                bool b => b ? "true" : "false",
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString() ?? "",
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A tag object's own ToString must not throw into the code recording the measurement.
            return "";
        }
    }
}
