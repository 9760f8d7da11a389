namespace Tasks.Core.Monitoring;

/// <summary>
/// What all workers did in one interval, per task name: each worker's cumulative stats minus what the previous
/// snapshot saw of it. A worker the previous snapshot didn't see, or whose <c>started_at</c> changed (it restarted,
/// its counters began again), counts whole. Never reads the tasks table (docs/design.md, "The camera").
/// </summary>
public static class StatsDelta
{
    public static Dictionary<string, NameFigures> Between(
        IEnumerable<(string Worker, WorkerBaseline Now)> workers, IReadOnlyDictionary<string, WorkerBaseline> before)
    {
        var sums = new Dictionary<string, (long Started, long Succeeded, long Failed, long Retried, long[] Run, long[] Wait)>(StringComparer.Ordinal);
        foreach (var (worker, now) in workers)
        {
            var previous = before.TryGetValue(worker, out var b) && b.StartedAt == now.StartedAt ? b.Stats : null;
            foreach (var (name, stats) in now.Stats)
            {
                var old = previous?.GetValueOrDefault(name);
                var sum = sums.TryGetValue(name, out var s) ? s : (0, 0, 0, 0, LatencyHistogram.Empty(), LatencyHistogram.Empty());
                LatencyHistogram.Add(sum.Run, stats.RunMs);
                LatencyHistogram.Add(sum.Run, old?.RunMs, -1);
                LatencyHistogram.Add(sum.Wait, stats.WaitMs);
                LatencyHistogram.Add(sum.Wait, old?.WaitMs, -1);
                sums[name] = (
                    sum.Started + stats.Started - (old?.Started ?? 0),
                    sum.Succeeded + stats.Succeeded - (old?.Succeeded ?? 0),
                    sum.Failed + stats.Failed - (old?.Failed ?? 0),
                    sum.Retried + stats.Retried - (old?.Retried ?? 0),
                    sum.Run, sum.Wait);
            }
        }
        var figures = new Dictionary<string, NameFigures>(StringComparer.Ordinal);
        foreach (var (name, s) in sums)
        {
            // Counters only grow while started_at stays: a negative difference is a worker's bug, not a figure to show.
            Clamp(s.Run);
            Clamp(s.Wait);
            if (s.Started <= 0 && s.Succeeded <= 0 && s.Failed <= 0 && s.Retried <= 0 && s.Run.All(c => c == 0) && s.Wait.All(c => c == 0)) continue;
            figures[name] = NameFigures.From(Math.Max(0, s.Started), Math.Max(0, s.Succeeded), Math.Max(0, s.Failed), Math.Max(0, s.Retried), s.Run, s.Wait);
        }
        return figures;
    }

    private static void Clamp(long[] counts)
    {
        for (var i = 0; i < counts.Length; i++) counts[i] = Math.Max(0, counts[i]);
    }
}
