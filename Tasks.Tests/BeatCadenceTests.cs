using System.Net;
using System.Net.Http.Json;
using Tasks.Core.Schedules;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// Schedules of the same cron, time zone and misfire policy share one Quartz trigger (a cadence) whose fire enqueues
/// them all (docs/design.md, "The beat"): each still pauses, fails and goes on its own, and a cadence's trigger lives
/// exactly as long as a schedule uses it. Read from the stack's database (Quartz's tables and ours).
/// </summary>
public sealed class BeatCadenceTests(TasksStack stack) : IClassFixture<TasksStack>
{
    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..20];

    private Task<long> TriggersAsync(string cron) => stack.CountAsync(
        "quartz.qrtz_triggers t JOIN quartz.qrtz_job_details j USING (sched_name, job_name, job_group) WHERE j.job_group = 'cadences' AND j.description = $1",
        Cadences.Describe(new ScheduleDefinition { Cron = cron }));

    [Fact]
    public async Task Schedules_of_one_cron_share_a_trigger_pause_on_their_own_and_the_trigger_goes_with_the_last()
    {
        const string cron = "* * * * * ?";
        var (a, b) = (NewName("a"), NewName("b"));
        await stack.Http.CreateScheduleAsync(new { name = a, task = "demo.echo", cron });
        await stack.Http.CreateScheduleAsync(new { name = b, task = "demo.echo", cron });
        Assert.Equal(1, await TriggersAsync(cron));
        await stack.WaitForFiresAsync(a, f => f.Count >= 2);
        await stack.WaitForFiresAsync(b, f => f.Count >= 2);

        using (var pause = await stack.Http.PostAsync($"/api/v1/schedules/{a}/pause", null))
            Assert.Equal(HttpStatusCode.OK, pause.StatusCode);
        var pausedAt = DateTimeOffset.UtcNow;
        await stack.WaitForFiresAsync(b, f => f[^1].FireTime > pausedAt.AddSeconds(3));
        Assert.DoesNotContain(await stack.FiresAsync(a), f => f.FireTime > pausedAt.AddSeconds(1)); // a fire under way may finish

        using (var resume = await stack.Http.PostAsync($"/api/v1/schedules/{a}/resume", null))
            Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        var resumedAt = DateTimeOffset.UtcNow;
        var afterResume = await stack.WaitForFiresAsync(a, f => f[^1].FireTime > resumedAt);
        Assert.DoesNotContain(afterResume, f => f.FireTime > pausedAt.AddSeconds(1) && f.FireTime < resumedAt); // no catch-up

        await stack.Http.DeleteScheduleAsync(a);
        Assert.Equal(1, await TriggersAsync(cron)); // b still uses it
        await stack.Http.DeleteScheduleAsync(b);
        Assert.Equal(0, await TriggersAsync(cron));
    }

    [Fact]
    public async Task A_changed_cron_moves_the_schedule_to_its_new_cadence_and_drops_the_old_one()
    {
        var name = NewName("moved");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", cron = "0 0 5 * * ?" });
        Assert.Equal(1, await TriggersAsync("0 0 5 * * ?"));
        using var put = await stack.Http.PutAsJsonAsync($"/api/v1/schedules/{name}", new { task = "demo.echo", cron = "0 0 6 * * ?" }, ApiExtensions.Json);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal((0, 1), (await TriggersAsync("0 0 5 * * ?"), await TriggersAsync("0 0 6 * * ?")));
        Assert.Equal(6, (await stack.Http.GetScheduleAsync(name)).NextFireTimes[0].Hour);
        await stack.Http.DeleteScheduleAsync(name);
        Assert.Equal(0, await TriggersAsync("0 0 6 * * ?"));
    }

    [Fact]
    public async Task A_schedule_whose_task_is_gone_is_left_out_of_its_cadence_s_fire_and_the_others_still_fire()
    {
        const string cron = "*/1 * * * * ?";
        var (good, bad) = (NewName("good"), NewName("bad"));
        await stack.Http.CreateScheduleAsync(new { name = good, task = "demo.echo", cron });
        await stack.Http.CreateScheduleAsync(new { name = bad, task = "demo.echo", cron });
        await stack.WaitForFiresAsync(bad, f => f.Count >= 1);
        // The task's contract changed under the stored schedule (here: the task is no longer registered).
        await stack.ExecuteAsync("UPDATE schedules SET definition = replace(definition, '\"task\":\"demo.echo\"', '\"task\":\"demo.gone\"') WHERE name = $1", bad);
        var changedAt = DateTimeOffset.UtcNow;

        await stack.WaitForFiresAsync(good, f => f[^1].FireTime > changedAt.AddSeconds(3));
        Assert.DoesNotContain(await stack.FiresAsync(bad), f => f.FireTime > changedAt.AddSeconds(1));
        Assert.Contains(stack.Logs.Events, e => e.Message.Contains($"Schedule {bad} fired for", StringComparison.Ordinal)
            && e.Message.Contains("refused", StringComparison.Ordinal) && e.Message.Contains("demo.gone", StringComparison.Ordinal));
        await stack.Http.DeleteScheduleAsync(good);
        await stack.Http.DeleteScheduleAsync(bad);
    }
}
