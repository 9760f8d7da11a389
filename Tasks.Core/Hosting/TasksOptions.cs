using System.ComponentModel.DataAnnotations;

namespace Tasks.Core.Hosting;

/// <summary>Settings every host shares (section <c>Tasks</c>).</summary>
public sealed class TasksOptions
{
    public const string Section = "Tasks";

    /// <summary>Finished tasks older than this many days are deleted by <c>tasks.cleanup</c>.</summary>
    [Range(0, 36500)]
    public int RetentionDays { get; set; } = 7;
}
