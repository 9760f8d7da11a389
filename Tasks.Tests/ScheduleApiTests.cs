using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Tasks.Core.Auth;
using Tasks.Core.Schedules;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// <c>/api/v1/schedules</c> on a whole stack (web, worker, and a scheduler running the beat): what is stored, what is
/// refused, who may write, and what a fire enqueues.
/// </summary>
public sealed class ScheduleApiTests(TasksStack stack) : IClassFixture<TasksStack>
{
    private static string NewName(string what) => $"{what}-{Guid.NewGuid():N}"[..24];

    [Fact]
    public async Task A_schedule_is_created_read_changed_and_deleted()
    {
        var name = NewName("crud");
        using var created = await stack.Http.PostAsJsonAsync("/api/v1/schedules",
            new { name, task = "demo.sleep", args = new { seconds = 1 }, cron = "0 0 3 * * ?", timeZone = "Europe/Paris", description = "nightly" }, ApiExtensions.Json);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal($"/api/v1/schedules/{name}", created.Headers.Location?.OriginalString);

        var schedule = await stack.Http.GetScheduleAsync(name);
        Assert.Equal(("demo.sleep", "api", "fireOnce", "Europe/Paris", "nightly"), (schedule.Task, schedule.Source, schedule.Misfire, schedule.TimeZone, schedule.Description));
        Assert.Equal(1, schedule.Args!.Value.GetProperty("seconds").GetInt32());
        Assert.False(schedule.Paused);
        Assert.True(schedule.Enabled);
        Assert.Equal(5, schedule.NextFireTimes.Count);
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        Assert.All(schedule.NextFireTimes, t => Assert.Equal(3, TimeZoneInfo.ConvertTime(t, paris).Hour));
        Assert.Null(schedule.LastTaskId);

        using var changed = await stack.Http.PutAsJsonAsync($"/api/v1/schedules/{name}",
            new { task = "demo.echo", args = new { message = "hi" }, intervalSeconds = 7200, misfire = "skip" }, ApiExtensions.Json);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        schedule = await stack.Http.GetScheduleAsync(name);
        Assert.Equal(("demo.echo", 7200, (string?)null, "skip"), (schedule.Task, schedule.IntervalSeconds, schedule.Cron, schedule.Misfire));
        Assert.Equal(TimeSpan.FromHours(2), schedule.NextFireTimes[1] - schedule.NextFireTimes[0]);

        var list = await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/schedules", ApiExtensions.Json);
        Assert.Contains(list.GetProperty("items").EnumerateArray(), s => s.GetProperty("name").GetString() == name);

        using var deleted = await stack.Http.DeleteAsync($"/api/v1/schedules/{name}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await stack.Http.GetAsync($"/api/v1/schedules/{name}");
        await gone.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    public static TheoryData<string, string, string> BadSchedules => new()
    {
        { """{"name":"N","task":"demo.echo","cron":"0 0 25 * * ?"}""", "cron", "hours" },
        { """{"name":"N","task":"demo.echo","cron":"0 0 0 ? * FUNDAY"}""", "cron", "day-of-week" },
        { """{"name":"N","task":"demo.echo","cron":"* * *"}""", "cron", "6 or 7 fields" },
        { """{"name":"N","task":"demo.echo","cron":"0 0 0 30 2 ?"}""", "cron", "never fires" },
        { """{"name":"N","task":"demo.echo","cron":"0 0 3 * * ?","timeZone":"Mars/Olympus_Mons"}""", "timeZone", "Unknown time zone" },
        { """{"name":"N","task":"no.such.task","intervalSeconds":60}""", "task", "Unknown task" },
        { """{"name":"N","task":"demo.sleep","args":{"seconds":"soon"},"intervalSeconds":60}""", "args.seconds", "" },
        { """{"name":"N","task":"demo.sleep","args":{"seconds":99999},"intervalSeconds":60}""", "args.seconds", "" },
        { """{"name":"N","task":"demo.echo","intervalSeconds":0}""", "intervalSeconds", "between 1" },
        { """{"name":"N","task":"demo.echo","intervalSeconds":60,"cron":"0 * * * * ?"}""", "intervalSeconds", "exactly one" },
        { """{"name":"N","task":"demo.echo"}""", "cron", "exactly one" },
        { """{"name":"N","task":"demo.echo","intervalSeconds":60,"misfire":"burst"}""", "misfire", "fireOnce" },
        { """{"name":"N","task":"demo.echo","intervalSeconds":60,"queue":"amq.nope"}""", "queue", "" },
        { """{"name":"N","task":"demo.echo","intervalSeconds":60,"every":"day"}""", "every", "" },
        { """{"name":"has space","task":"demo.echo","intervalSeconds":60}""", "name", "letters" },
        { """{"name":"..","task":"demo.echo","intervalSeconds":60}""", "name", "letter or digit" },
    };

    [Theory]
    [MemberData(nameof(BadSchedules))]
    public async Task A_bad_schedule_is_refused_naming_the_field_and_nothing_is_stored(string body, string field, string says)
    {
        var name = NewName("bad");
        using var response = await stack.Http.PostRawAsync("/api/v1/schedules", body.Replace("\"N\"", $"\"{name}\"", StringComparison.Ordinal));
        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains(says, problem.FieldError(field), StringComparison.Ordinal);
        using var stored = await stack.Http.GetAsync($"/api/v1/schedules/{name}");
        await stored.AssertProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_taken_name_is_a_conflict_and_an_unknown_schedule_is_not_found()
    {
        var name = NewName("dup");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", intervalSeconds = 3600 });
        using var again = await stack.Http.PostJsonAsync("/api/v1/schedules", new { name, task = "demo.sleep", args = new { seconds = 1 }, intervalSeconds = 60 });
        await again.AssertProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("demo.echo", (await stack.Http.GetScheduleAsync(name)).Task);

        foreach (var (method, path) in new[] { ("GET", ""), ("PUT", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume"), ("POST", "/trigger"), ("GET", "/fires") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), $"/api/v1/schedules/no-such-schedule{path}");
            if (method == "PUT") request.Content = JsonContent.Create(new { task = "demo.echo", intervalSeconds = 60 });
            using var response = await stack.Http.SendAsync(request);
            await response.AssertProblemAsync(HttpStatusCode.NotFound);
        }
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task Reading_needs_the_read_scope_and_writing_the_admin_scope()
    {
        var name = NewName("scope");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", intervalSeconds = 3600 });
        using var reader = await stack.ClientWithKeyAsync(ApiKeyScope.Read);
        using var enqueuer = await stack.ClientWithKeyAsync(ApiKeyScope.Enqueue);
        Assert.Equal(name, (await reader.GetScheduleAsync(name)).Name);
        foreach (var client in new[] { reader, enqueuer })
        {
            using var create = await client.PostJsonAsync("/api/v1/schedules", new { name = NewName("scope"), task = "demo.echo", intervalSeconds = 60 });
            Assert.Equal("admin", (await create.AssertProblemAsync(HttpStatusCode.Forbidden)).GetProperty("scope").GetString());
            foreach (var action in new[] { "pause", "resume", "trigger" })
            {
                using var response = await client.PostAsync($"/api/v1/schedules/{name}/{action}", null);
                await response.AssertProblemAsync(HttpStatusCode.Forbidden);
            }
            using var delete = await client.DeleteAsync($"/api/v1/schedules/{name}");
            await delete.AssertProblemAsync(HttpStatusCode.Forbidden);
        }
        using var anonymous = stack.AnonymousClient();
        using var unknown = await anonymous.GetAsync("/api/v1/schedules");
        await unknown.AssertProblemAsync(HttpStatusCode.Unauthorized);
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task Pause_resume_and_trigger_and_the_fires_show_on_the_schedule()
    {
        var name = NewName("manual");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", args = new { message = "by hand" }, cron = "0 0 4 * * ?" });

        using (var paused = await stack.Http.PostAsync($"/api/v1/schedules/{name}/pause", null))
            Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
        var schedule = await stack.Http.GetScheduleAsync(name);
        Assert.True(schedule.Paused);
        Assert.Empty(schedule.NextFireTimes);

        using var triggered = await stack.Http.PostAsync($"/api/v1/schedules/{name}/trigger", null);
        Assert.Equal(HttpStatusCode.Accepted, triggered.StatusCode);
        var task = (await triggered.Content.ReadFromJsonAsync<TaskView>(ApiExtensions.Json))!;
        Assert.Equal(name, task.ScheduleName);
        await stack.Http.WaitForStateAsync(task.Id, "succeeded");

        using (var resumed = await stack.Http.PostAsync($"/api/v1/schedules/{name}/resume", null))
            Assert.Equal(HttpStatusCode.OK, resumed.StatusCode);
        schedule = await stack.Http.GetScheduleAsync(name);
        Assert.False(schedule.Paused);
        Assert.Equal(5, schedule.NextFireTimes.Count);
        Assert.Equal((task.Id, "succeeded"), (schedule.LastTaskId, schedule.LastTaskState));

        var fires = await stack.Http.GetFromJsonAsync<JsonElement>($"/api/v1/schedules/{name}/fires?limit=5", ApiExtensions.Json);
        var fire = Assert.Single(fires.GetProperty("items").EnumerateArray());
        Assert.Equal(task.Id, fire.GetProperty("taskId").GetGuid());
        Assert.Equal(FireIds.For(name, fire.GetProperty("fireTime").GetDateTimeOffset()), task.Id);
        var listed = await stack.Http.GetFromJsonAsync<PageView>($"/api/v1/tasks?schedule={name}", ApiExtensions.Json);
        Assert.Equal(task.Id, Assert.Single(listed!.Items).Id);
        using var badLimit = await stack.Http.GetAsync($"/api/v1/schedules/{name}/fires?limit=0");
        Assert.Contains("limit", (await badLimit.AssertProblemAsync(HttpStatusCode.BadRequest)).FieldError("limit"), StringComparison.Ordinal);
        await stack.Http.DeleteScheduleAsync(name);
    }

    [Fact]
    public async Task An_every_second_schedule_enqueues_one_task_per_fire_time_with_the_derived_id()
    {
        var name = NewName("second");
        await stack.Http.CreateScheduleAsync(new { name, task = "demo.echo", args = new { message = "tick" }, cron = "* * * * * ?" });
        var fires = await stack.WaitForFiresAsync(name, f => f.Count >= 3);
        await stack.Http.DeleteScheduleAsync(name);

        foreach (var (fireTime, id) in fires)
        {
            Assert.Equal(0, fireTime.Millisecond);
            Assert.Equal(FireIds.For(name, fireTime), id);
        }
        Assert.Equal(fires.Count, fires.Select(f => f.FireTime).Distinct().Count());
        var task = await stack.Http.WaitForStateAsync(fires[0].Id, "succeeded");
        Assert.Equal(name, task.ScheduleName);
    }
}
