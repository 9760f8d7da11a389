using System.Net;
using Microsoft.Extensions.Options;
using Tasks.Contracts;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>A task whose contract names its own queue, which makes that queue known.</summary>
[TaskContract("test.routed", Queue = "routed")]
public sealed record RoutedArgs(string? Note = null);

/// <summary>
/// A task goes only to a queue RabbitMQ accepts and this system knows (<c>default</c>, the contracts' queues,
/// <c>Tasks:Queues</c>); anything else is a 400 naming the field, and nothing is stored.
/// </summary>
public sealed class QueueNameTests(QueueNameTests.Stack stack) : IClassFixture<QueueNameTests.Stack>
{
    /// <summary>No worker or scheduler; two queues configured, one of them a prefix.</summary>
    public sealed class Stack : TasksStack
    {
        protected override bool StartWorker => false;
        protected override bool StartScheduler => false;

        protected override Dictionary<string, string?> Settings => new(base.Settings)
        {
            ["Tasks:Queues:0"] = "reports-eu",
            ["Tasks:Queues:1"] = "tenant-*",
        };
    }

    private async Task<(string Single, string Batch)> RejectedAsync(string queue)
    {
        var before = await stack.CountAsync("tasks");
        using var single = await stack.Http.PostJsonAsync("/api/v1/tasks", new { name = "demo.echo", args = new { }, queue });
        var singleError = (await single.AssertProblemAsync(HttpStatusCode.BadRequest)).FieldError("queue");
        using var batch = await stack.Http.PostJsonAsync("/api/v1/tasks/batch", new
        {
            tasks = new object[] { new { name = "demo.echo", args = new { } }, new { name = "demo.echo", args = new { }, queue } },
        });
        var batchError = (await batch.AssertProblemAsync(HttpStatusCode.BadRequest)).FieldError("tasks[1].queue");
        Assert.Equal(before, await stack.CountAsync("tasks"));
        return (singleError, batchError);
    }

    public static TheoryData<string> RefusedNames =>
    [
        "amq.x", "amq.gen-abc", "tenant-a b", "tenant-ü", "tenant-a:b", "Tenant-A", "",
        "tenant-" + new string('a', 94), // 101 characters
        "tenant-" + new string('a', 300),
    ];

    [Theory]
    [MemberData(nameof(RefusedNames))]
    public async Task Queue_names_RabbitMQ_would_refuse_are_a_400_saying_the_rule(string queue)
    {
        var (single, batch) = await RejectedAsync(queue);
        foreach (var error in new[] { single, batch })
        {
            Assert.Contains("1-100 characters: lowercase letters, digits", error);
            Assert.Contains("'amq.'", error);
        }
    }

    [Theory]
    [InlineData("nowhere")]
    [InlineData("reports")]
    [InlineData("reports-eu2")]
    [InlineData("tenant-")]
    [InlineData("tenant")]
    public async Task A_queue_not_known_is_a_400_listing_the_known_ones(string queue)
    {
        var (single, batch) = await RejectedAsync(queue);
        foreach (var error in new[] { single, batch })
        {
            Assert.Contains($"Unknown queue '{queue}'", error);
            foreach (var known in new[] { "default", "reports-eu", "routed", "tenant-*" }) Assert.Contains(known, error);
            Assert.Contains("Tasks:Queues", error);
        }
    }

    [Fact]
    public async Task Only_known_queues_are_accepted()
    {
        Assert.Equal("default", (await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { } })).Queue);
        Assert.Equal("routed", (await stack.Http.EnqueueAsync(new { name = "test.routed", args = new { } })).Queue);
        var longest = "tenant-" + new string('a', 93); // 100 characters
        foreach (var queue in new[] { "default", "routed", "reports-eu", "tenant-42", "tenant-eu.north_1", longest })
            Assert.Equal(queue, (await stack.Http.EnqueueAsync(new { name = "demo.echo", args = new { }, queue })).Queue);
        var batch = await stack.Http.EnqueueBatchAsync(new { name = "demo.echo", args = new { }, queue = "tenant-7" }, new { name = "test.routed", args = new { } });
        Assert.Equal(["tenant-7", "routed"], batch.Select(t => t.Queue));

        await RejectedAsync("reports-us");
    }

    [Theory]
    [InlineData("amq.bad")]
    [InlineData("Reports")]
    [InlineData("tenant-*-x")]
    [InlineData("")]
    public async Task Tasks_Queues_is_checked_at_start_up(string entry)
    {
        var app = stack.BuildWeb(new() { ["Tasks:Queues:0"] = "ok", ["Tasks:Queues:1"] = entry });
        try
        {
            var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
            Assert.Contains("Tasks:Queues:1", e.Message);
        }
        finally
        {
            await app.DisposeAsync();
        }
    }
}
