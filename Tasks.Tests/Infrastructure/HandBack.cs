namespace Tasks.Tests.Infrastructure;

/// <summary>
/// A worker that can't start what it holds: three 3-second tasks enqueued together go to a worker with one slot, one
/// message at a time and <c>Worker:HandBackSeconds</c> = 1 ("busy"); once it runs the first, a worker with two slots
/// ("idle") starts. The two tasks waiting for the busy worker's slot go back to the queue, where only the idle
/// worker can take them. Returns the three tasks once they succeeded, in the order they were enqueued.
/// </summary>
public static class HandBack
{
    public static async Task<List<TaskView>> RunAsync(TasksStack stack, string queue, string? traceParent = null)
    {
        await using var busy = await stack.StartWorkerAsync(new()
        {
            ["Worker:Queues"] = queue, ["Worker:Concurrency"] = "1", ["Worker:Prefetch"] = "1",
            ["Worker:HandBackSeconds"] = "1", ["Worker:Name"] = "busy",
        });
        var tasks = await stack.Http.EnqueueBatchAsync(traceParent, [.. Enumerable.Range(0, 3).Select(_ =>
            new { name = "test.context", args = new { holdMilliseconds = 3000 }, queue })]);
        await stack.Http.WaitForStateAsync(tasks[0].Id, "running"); // the busy worker holds the message of all three
        await using var idle = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Concurrency"] = "2", ["Worker:Name"] = "idle" });
        var done = new List<TaskView>();
        foreach (var t in tasks) done.Add(await stack.Http.WaitForStateAsync(t.Id, "succeeded"));
        return done;
    }
}
