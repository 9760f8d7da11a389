using System.Text;

namespace Tasks.Core.Queries;

/// <summary>
/// A <see cref="TaskFilter"/> as SQL conditions, for the lifecycle's set-based moves and their counts: the same
/// meaning as <see cref="TaskQueries.ListAsync"/> gives it (its state and paging are the caller's). Only the
/// conditions a filter has are written, so each combination gets a plan of its own.
/// </summary>
public static class FilterSql
{
    /// <summary>" AND ..." conditions numbered from <c>$<paramref name="first"/></c>, and their values in order.</summary>
    public static (string Sql, List<object> Values) Conditions(TaskFilter filter, int first)
    {
        var sql = new StringBuilder();
        var values = new List<object>();
        void Add(string condition, object value)
        {
            values.Add(value);
            sql.Append(" AND ").Append(condition).Append(" $").Append(first + values.Count - 1);
        }
        if (filter.Name is { } name) Add("name =", name);
        if (filter.Queue is { } queue) Add("queue =", queue);
        if (filter.Schedule is { } schedule) Add("schedule_name =", schedule);
        if (filter.Error is { } error) Add("split_part(coalesce(error, ''), E'\\n', 1) =", error);
        if (filter.From is { } from) Add("id >=", TaskFilter.IdAt(from));
        if (filter.To is { } to) Add("id <", TaskFilter.IdAt(to));
        return (sql.ToString(), values);
    }
}
