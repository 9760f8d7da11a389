using System.Text.RegularExpressions;

namespace Tasks.Core.Registry;

/// <summary>
/// What a queue may be called: a name RabbitMQ accepts as it is, with room for the suffixes MassTransit adds
/// (<c>_error</c>, <c>_skipped</c>) within its 255-byte limit, and never its reserved <c>amq.</c> prefix (RabbitMQ
/// refuses to declare those, and a task for one could never be published).
/// </summary>
public static partial class QueueNames
{
    public const int MaxLength = 100;
    public const string DefaultQueue = "default";

    public const string Rule =
        "1-100 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit, and not starting with 'amq.' (reserved by RabbitMQ)";

    /// <summary>Why <paramref name="queue"/> can't be a queue name, or null when it can.</summary>
    public static string? Problem(string queue) =>
        !Allowed().IsMatch(queue) || queue.StartsWith("amq.", StringComparison.Ordinal) ? $"queue must be {Rule}." : null;

    /// <summary>
    /// Why <paramref name="entry"/> can't be an entry of <c>Tasks:Queues</c>: a queue name, or a prefix ending in
    /// <c>*</c> (<c>tenant-*</c>: any queue that starts so), or <c>*</c> alone (any queue).
    /// </summary>
    public static string? PatternProblem(string entry)
    {
        if (entry == "*") return null;
        var name = entry.EndsWith('*') ? entry[..^1] + "x" : entry;
        return Problem(name) is null ? null
            : $"'{entry}' is not a queue name or a prefix ending in '*': a queue name is {Rule}.";
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,99}$")]
    private static partial Regex Allowed();
}
