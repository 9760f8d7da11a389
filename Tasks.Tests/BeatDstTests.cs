using Tasks.Core.Schedules;

namespace Tasks.Tests;

/// <summary>
/// A daily cron in a zone with daylight saving time, across both changes, as the beat's own trigger (built by
/// <see cref="Cadences.BuildTrigger"/>) computes it on a fixed clock: the times docs/schedules.md promises.
/// </summary>
public sealed class BeatDstTests
{
    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private static List<DateTimeOffset> FireTimes(string cron, string zone, DateTimeOffset from, int count)
    {
        var schedule = new ScheduleDefinition { Name = "dst", Task = "demo.echo", Cron = cron, TimeZone = zone, Misfire = ScheduleDefinition.FireOnce };
        var trigger = Cadences.BuildTrigger(schedule, new FixedClock(from));
        var times = new List<DateTimeOffset>();
        for (var t = trigger.GetFireTimeAfter(from); t is { } time && times.Count < count; t = trigger.GetFireTimeAfter(time)) times.Add(time);
        return times;
    }

    [Fact]
    public void Spring_forward_fires_once_at_the_instant_the_clocks_moved_to()
    {
        var times = FireTimes("0 30 2 * * ?", "Europe/Berlin", new DateTimeOffset(2026, 3, 27, 12, 0, 0, TimeSpan.Zero), 4);
        Assert.Equal(
        [
            new DateTimeOffset(2026, 3, 28, 1, 30, 0, TimeSpan.Zero), // 02:30 CET
            new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero),  // no 02:30 that day: 03:00 CEST
            new DateTimeOffset(2026, 3, 30, 0, 30, 0, TimeSpan.Zero), // 02:30 CEST
            new DateTimeOffset(2026, 3, 31, 0, 30, 0, TimeSpan.Zero),
        ], times);
    }

    [Fact]
    public void Fall_back_fires_once_at_the_first_of_the_two_readings()
    {
        var times = FireTimes("0 30 2 * * ?", "Europe/Berlin", new DateTimeOffset(2026, 10, 23, 12, 0, 0, TimeSpan.Zero), 4);
        Assert.Equal(
        [
            new DateTimeOffset(2026, 10, 24, 0, 30, 0, TimeSpan.Zero), // 02:30 CEST
            new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero), // 02:30 CEST, the first of two; not again at 02:30 CET
            new DateTimeOffset(2026, 10, 26, 1, 30, 0, TimeSpan.Zero), // 02:30 CET
            new DateTimeOffset(2026, 10, 27, 1, 30, 0, TimeSpan.Zero),
        ], times);
    }

    [Fact]
    public void An_hourly_cron_fires_in_both_of_the_repeated_hours()
    {
        // Every hour on the half hour on the day the clocks go back: 02:30 comes twice, an hour apart in real time,
        // and an hourly schedule fires at both (a daily one, above, only at the first).
        var times = FireTimes("0 30 * * * ?", "Europe/Berlin", new DateTimeOffset(2026, 10, 24, 22, 0, 0, TimeSpan.Zero), 5);
        Assert.Equal(
        [
            new DateTimeOffset(2026, 10, 24, 22, 30, 0, TimeSpan.Zero), // 00:30 CEST
            new DateTimeOffset(2026, 10, 24, 23, 30, 0, TimeSpan.Zero), // 01:30 CEST
            new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero),  // 02:30 CEST
            new DateTimeOffset(2026, 10, 25, 1, 30, 0, TimeSpan.Zero),  // 02:30 CET, the second time
            new DateTimeOffset(2026, 10, 25, 2, 30, 0, TimeSpan.Zero),  // 03:30 CET
        ], times);
    }
}
