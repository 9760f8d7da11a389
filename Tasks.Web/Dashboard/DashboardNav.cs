namespace Tasks.Web.Dashboard;

/// <summary>The dashboard's pages, as the layout's navigation lists them (issue 29's paths).</summary>
public static class DashboardNav
{
    public sealed record Link(string Path, string Label)
    {
        public bool IsCurrent(PathString current) =>
            Path == "/" ? current == "/" : current.StartsWithSegments(Path, StringComparison.OrdinalIgnoreCase);
    }

    public static readonly IReadOnlyList<Link> Links =
    [
        new("/", "Overview"),
        new("/tasks", "Tasks"),
        new("/workers", "Workers"),
        new("/queues", "Queues"),
        new("/schedules", "Schedules"),
        new("/failed", "Failed"),
    ];
}
