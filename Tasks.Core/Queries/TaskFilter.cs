using System.Buffers.Binary;
using Tasks.Core.Lifecycle;

namespace Tasks.Core.Queries;

/// <summary>A task list query: optional filters, newest first, a page of <see cref="Limit"/> after <see cref="After"/>.</summary>
public sealed record TaskFilter(TaskState? State, string? Name, string? Queue, int Limit, Guid? After)
{
    /// <summary>Only the tasks a schedule's fires (and manual triggers) enqueued.</summary>
    public string? Schedule { get; init; }

    /// <summary>Enqueued at or after this time: read from the UUIDv7 id, so the id indexes serve it (docs/design.md#time-ranges-are-id-ranges).</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Enqueued before this time (exclusive).</summary>
    public DateTimeOffset? To { get; init; }

    /// <summary>Only tasks whose error's first line is this (a group of the failed view).</summary>
    public string? Error { get; init; }

    /// <summary>A filter of no page: what the bulk actions and their counts take.</summary>
    public static TaskFilter All => new(null, null, null, 0, null);

    /// <summary>
    /// The lowest id a task enqueued at <paramref name="time"/> can have: a UUIDv7 begins with its 48-bit Unix
    /// milliseconds, and every id of a later millisecond sorts above it (PostgreSQL compares uuids bytewise).
    /// </summary>
    public static Guid IdAt(DateTimeOffset time)
    {
        Span<byte> bytes = stackalloc byte[16];
        Span<byte> ms = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(ms, Math.Max(0, time.ToUnixTimeMilliseconds()));
        ms[2..].CopyTo(bytes);
        return new Guid(bytes, bigEndian: true);
    }

    /// <summary>The first line of an error, as the failed view groups by it (the same as SQL's <c>split_part(error, E'\n', 1)</c>).</summary>
    public static string FirstLine(string? error) => error is null ? "" : error.Split('\n', 2)[0];
}
