using Tasks.Core.Enqueueing;
using Tasks.Core.Lifecycle;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>Tasks enqueued together travel several to a broker message (<c>Tasks:MaxTasksPerMessage</c>).</summary>
public sealed class PackedMessageTests(TasksStack stack) : IClassFixture<TasksStack>
{
    [Fact]
    public async Task A_message_of_several_tasks_runs_them_within_the_worker_s_concurrency_each_once()
    {
        var queue = "packed-" + Guid.NewGuid().ToString("N")[..8];
        await using var worker = await stack.StartWorkerAsync(new() { ["Worker:Queues"] = queue, ["Worker:Concurrency"] = "2" });
        var tasks = await stack.Http.EnqueueBatchAsync([.. Enumerable.Range(0, 6).Select(_ =>
            new { name = "test.context", args = new { holdMilliseconds = 400 }, queue })]);

        var done = new List<TaskView>();
        foreach (var t in tasks) done.Add(await stack.Http.WaitForStateAsync(t.Id, "succeeded"));
        await worker.StopAsync(TestContext.Current.CancellationToken);

        Assert.All(done, t => Assert.Equal(1, t.Attempts));
        // One message brought them all (a claim records the message that started the attempt).
        Assert.Equal(1, await stack.CountAsync("(SELECT DISTINCT message_id FROM tasks WHERE id = ANY($1)) m", tasks.Select(t => t.Id).ToArray()));
        // Two at a time, as Worker:Concurrency says, though MassTransit's own limit counts the one message once. A
        // task's start and finish lie within the time it held its slot: at the moment each started, count those running.
        var most = done.Max(t => done.Count(o => o.StartedAt <= t.StartedAt && t.StartedAt < o.FinishedAt));
        Assert.Equal(2, most);
    }

    [Fact]
    public async Task Tasks_of_a_message_that_wait_too_long_for_a_slot_go_back_to_the_queue_for_an_idle_worker()
    {
        var queue = "handback-" + Guid.NewGuid().ToString("N")[..8];
        using var handedBack = new QueueCounter("tasks.handed_back", queue);
        var done = await HandBack.RunAsync(stack, queue);

        // The first ran where it was; the two that waited a second for the busy worker's one slot went back to the
        // queue, together, and the idle worker ran them, each once.
        Assert.Equal(["busy", "idle", "idle"], done.Select(t => t.Worker));
        Assert.All(done, t => Assert.Equal(1, t.Attempts));
        Assert.Equal(2, await stack.CountAsync("(SELECT DISTINCT message_id FROM tasks WHERE id = ANY($1)) m", done.Select(t => t.Id).ToArray()));
        Assert.Equal(2, handedBack.Total); // what operators see: tasks_handed_back_total{task_queue=...}
    }

    [Fact]
    public void Consecutive_tasks_of_one_queue_share_a_message_up_to_the_limit_in_order_untraced_apart()
    {
        static TaskToPublish T(string queue, string? trace = null) => new(Guid.NewGuid(), "demo.echo", queue, trace);
        var (a1, a2, a3, b1, a4, t1, t2) = (T("a"), T("a"), T("a"), T("b"), T("a"), T("a", "00-1"), T("a", "00-2"));

        var messages = TaskPublisher.Pack([a1, a2, a3, b1, a4, t1, t2, t2], max: 3);

        Assert.Equal<TaskToPublish[]>(
            // Traces may differ in a message, but an untraced task never shares one with traced ones (it would run in
            // their trace); a task given twice goes in two.
            [[a1, a2, a3], [b1], [a4], [t1, t2], [t2]],
            messages.Select(m => m.ToArray()));
        Assert.All(TaskPublisher.Pack([a1, a2, a3], max: 1), m => Assert.Single(m));
    }

    [Fact]
    public void Many_tasks_of_a_queue_go_ten_to_a_message_or_over_ten_messages_up_to_the_limit()
    {
        static TaskToPublish[] Of(string queue, int n) => [.. Enumerable.Range(0, n).Select(_ => new TaskToPublish(Guid.NewGuid(), "demo.echo", queue, null))];
        int[] Sizes(TaskToPublish[] tasks, int max) => [.. TaskPublisher.Pack(tasks, max).Select(m => m.Count)];

        Assert.Equal([10, 10, 5], Sizes(Of("a", 25), 100));
        Assert.Equal(Enumerable.Repeat(25, 10), Sizes(Of("a", 250), 100));
        // Each queue by its own count: a few of another queue in the same batch stay ten to a message.
        Assert.Equal([.. Enumerable.Repeat(100, 20), 10, 2], Sizes([.. Of("a", 2000), .. Of("b", 12)], 100));
        Assert.Equal(Enumerable.Repeat(10, 25), Sizes(Of("a", 250), 10));
        Assert.Equal([3, 3, 1], Sizes(Of("a", 7), 3));
    }
}
