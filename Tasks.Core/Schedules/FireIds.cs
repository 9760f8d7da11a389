using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Tasks.Core.Schedules;

/// <summary>
/// The task id of a schedule's fire, derived from (schedule name, scheduled fire time): a second fire of the same
/// time (two schedulers, a recovered fire) names the same row, so the enqueuer finds the first instead of adding one.
/// It is shaped as a UUIDv7 whose timestamp is the fire time and whose random bits are a SHA-256 of both, so a
/// schedule's tasks page newest-first by id like every other task (docs/design.md, "The beat").
/// </summary>
public static class FireIds
{
    public static Guid For(string schedule, DateTimeOffset fireTime)
    {
        var ms = fireTime.ToUnixTimeMilliseconds();
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{schedule}\n{ms}")), hash);
        Span<byte> id = stackalloc byte[16];
        Span<byte> time = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(time, ms);
        time[2..].CopyTo(id);                          // 48-bit big-endian Unix milliseconds
        hash[..10].CopyTo(id[6..]);
        id[6] = (byte)(0x70 | (id[6] & 0x0F));          // version 7
        id[8] = (byte)(0x80 | (id[8] & 0x3F));          // RFC 9562 variant
        return new Guid(id, bigEndian: true);
    }
}
