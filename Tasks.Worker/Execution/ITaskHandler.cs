namespace Tasks.Worker.Execution;

/// <summary>
/// Runs one task. Resolved from the message's DI scope, so it may take scoped services (the scope's
/// <see cref="Core.Data.TasksDbContext"/> is also on <see cref="TaskContext.Db"/>). Register with
/// <c>services.AddTaskHandler&lt;TArgs, THandler&gt;()</c>.
/// </summary>
public interface ITaskHandler<in TArgs> where TArgs : class
{
    Task<TaskOutcome> RunAsync(TArgs args, TaskContext context);
}
