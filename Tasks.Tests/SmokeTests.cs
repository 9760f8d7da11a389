using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

public sealed class SmokeTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task Web_publishes_and_worker_writes_the_row_through_its_scoped_DbContext()
    {
        var task = await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { message = "hello" } });

        var done = await stack.Http.WaitForStateAsync(task.Id, "succeeded");

        Assert.Equal("hello", done.Result!.Value.GetProperty("message").GetString());
        Assert.Equal(1, done.Attempts);
        Assert.NotNull(done.Worker);
        Assert.NotNull(done.FinishedAt);
    }
}
