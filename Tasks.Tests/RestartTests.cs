using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// A database restart as the worker sees it. On a stack of its own: it ends every session of the database, and a
/// test sharing the stack could meet what is left of that in its own tasks.
/// </summary>
public sealed class RestartTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task Worker_recovers_when_its_database_connections_are_cut()
    {
        var before = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { } });
        await stack.Http.WaitForStateAsync(before.Id, "succeeded");

        // What a PostgreSQL restart looks like from the worker: every pooled connection is dead.
        await stack.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", stack.Name);

        var after = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { } });
        await stack.Http.WaitForStateAsync(after.Id, "succeeded");
    }
}
