using System.ComponentModel.DataAnnotations;

namespace Tasks.Contracts.Maintenance;

/// <summary>Deletes finished tasks older than the retention (the <c>Tasks:RetentionDays</c> setting unless given here), in batches.</summary>
[TaskContract("tasks.cleanup", MaxAttempts = 3, TimeLimitSeconds = 3600, Admin = true)]
public sealed record CleanupArgs([property: Range(0, 36500)] int? RetentionDays = null);
