using System.ComponentModel;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Options;
using Tasks.Core.Data;
using Tasks.Core.Monitoring;

namespace Tasks.Web.Dashboard;

/// <summary>
/// The Overview's aggregates over the snapshots (the charts' series, what needs attention), cached for
/// <see cref="DashboardOptions.RefreshSeconds"/> like <see cref="StateCountsCache"/> and under its tag, so the actions
/// that already drop the counts drop these too. Each query runs in a scope of its own (<see cref="StateCountsCache.InOwnScopeAsync"/>).
/// </summary>
public sealed class OverviewCache(HybridCache cache, IServiceScopeFactory scopes, TimeProvider clock, IOptions<DashboardOptions> options)
{
    /// <summary>The window the failing names and growing queues are judged over.</summary>
    public static readonly TimeSpan FailingWindow = TimeSpan.FromHours(1);
    public static readonly TimeSpan GrowthWindow = TimeSpan.FromMinutes(5);
    public const int FailingNames = 10;

    private static readonly string[] Tags = [StateCountsCache.Tag];

    public ValueTask<ChartSeries> ChartAsync(ChartRange range, CancellationToken ct) =>
        cache.GetOrCreateAsync($"overview:chart:{range.Name}", (scopes, clock, range), static (s, token) => StateCountsCache.InOwnScopeAsync(s.scopes, async (TasksDbContext db) =>
        {
            var to = s.clock.GetUtcNow();
            var from = to - s.range.Span;
            var steps = await MonitorSeries.TotalsAsync(db, from, to, s.range.Step, token);
            return new ChartSeries(s.range.Name, from, to, (int)s.range.Step.TotalSeconds,
                [.. steps.Select(p => p.At.ToUnixTimeSeconds())], [.. steps.Select(p => p.Succeeded)],
                [.. steps.Select(p => p.Failed)], [.. steps.Select(p => p.Retried)]);
        }), Entry(), Tags, ct);

    public ValueTask<Attention> AttentionAsync(CancellationToken ct) =>
        cache.GetOrCreateAsync("overview:attention", (scopes, clock), static (s, token) => StateCountsCache.InOwnScopeAsync(s.scopes, async (TasksDbContext db) =>
        {
            var now = s.clock.GetUtcNow();
            var failing = await AttentionQueries.FailingNamesAsync(db, now - FailingWindow, FailingNames, token);
            var growing = await AttentionQueries.GrowingQueuesAsync(db, now - GrowthWindow, token);
            var (_, queues) = await MonitorQueries.QueuesAsync(db, s.clock, token);
            return new Attention(failing, [.. queues.Where(q => q.Unconsumed)], growing);
        }), Entry(), Tags, ct);

    private HybridCacheEntryOptions Entry() => new()
    {
        Expiration = TimeSpan.FromSeconds(options.Value.RefreshSeconds),
        LocalCacheExpiration = TimeSpan.FromSeconds(options.Value.RefreshSeconds),
    };
}

/// <summary>A chart's range and the step that keeps it to at most <see cref="MaxPoints"/> points.</summary>
public sealed record ChartRange(string Name, string Label, TimeSpan Span)
{
    public const int MaxPoints = 360;

    public TimeSpan Step => TimeSpan.FromSeconds(Math.Ceiling(Span.TotalSeconds / MaxPoints));

    public static readonly IReadOnlyList<ChartRange> All =
    [
        new("hour", "Last hour", TimeSpan.FromHours(1)),
        new("day", "Last day", TimeSpan.FromDays(1)),
        new("week", "Last week", TimeSpan.FromDays(7)),
    ];

    public static ChartRange? Find(string? name) => All.FirstOrDefault(r => r.Name == (name ?? "hour"));
}

/// <summary>What overview.js draws: times in Unix seconds, and per step the attempts that succeeded, failed and were retried.</summary>
[ImmutableObject(true)]
public sealed record ChartSeries(string Range, DateTimeOffset From, DateTimeOffset To, int StepSeconds, long[] At, long[] Succeeded, long[] Failed, long[] Retried);

[ImmutableObject(true)]
public sealed record Attention(IReadOnlyList<FailingName> Failing, IReadOnlyList<QueueStatus> Unconsumed, IReadOnlyList<QueueGrowth> Growing);
