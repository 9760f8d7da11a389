using System.ComponentModel;
using Microsoft.Extensions.Caching.Hybrid;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;

namespace Tasks.Web.Dashboard;

/// <summary>
/// The Overview's counts by state, cached for <see cref="DashboardOptions.RefreshSeconds"/> so many open dashboards
/// cost one query per refresh. An action that changes tasks drops them by <see cref="Tag"/> (on this instance).
/// </summary>
public sealed class StateCountsCache(HybridCache cache, IServiceScopeFactory scopes, Microsoft.Extensions.Options.IOptions<DashboardOptions> options)
{
    /// <summary>The tag of every cached aggregate over tasks: <c>RemoveByTagAsync(Tag)</c> after changing tasks.</summary>
    public const string Tag = "tasks";

    private static readonly string[] Tags = [Tag];

    public ValueTask<StateCounts> GetAsync(CancellationToken ct) =>
        cache.GetOrCreateAsync("overview:state-counts", scopes, static (scopes, token) => InOwnScopeAsync(scopes, async (TaskQueries q) =>
        {
            var counts = await q.CountByStateAsync(token);
            return new StateCounts([.. Enum.GetValues<TaskState>().Select(s => new StateCount(TaskStateMachine.NameOf(s), counts.GetValueOrDefault(s)))]);
        }), Entry(), Tags, ct);

    /// <summary>
    /// A cached query's services, from a scope of its own: HybridCache lets later callers wait on the query of the
    /// first, which goes on after that first request has ended and handed its pooled context to the next one.
    /// </summary>
    public static async ValueTask<T> InOwnScopeAsync<TService, T>(IServiceScopeFactory scopes, Func<TService, Task<T>> query) where TService : notnull
    {
        await using var scope = scopes.CreateAsyncScope();
        return await query(scope.ServiceProvider.GetRequiredService<TService>());
    }

    public ValueTask InvalidateAsync(CancellationToken ct) => cache.RemoveByTagAsync(Tag, ct);

    private HybridCacheEntryOptions Entry() => new()
    {
        Expiration = TimeSpan.FromSeconds(options.Value.RefreshSeconds),
        LocalCacheExpiration = TimeSpan.FromSeconds(options.Value.RefreshSeconds),
    };
}

/// <summary>Immutable, so the cache hands out the one instance instead of a copy per read.</summary>
[ImmutableObject(true)]
public sealed record StateCounts(IReadOnlyList<StateCount> States)
{
    public long Total => States.Sum(s => s.Count);
}

[ImmutableObject(true)]
public sealed record StateCount(string State, long Count);
