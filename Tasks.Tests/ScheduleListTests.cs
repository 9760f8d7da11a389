using System.Net.Http.Json;
using System.Text.Json;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// <c>GET /api/v1/schedules</c> costs the same number of database statements for many schedules as for few. The
/// statements are Npgsql's own activities (one per command, Quartz's and ours alike) under the request's trace.
/// </summary>
public sealed class ScheduleListTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
{
    [Fact]
    public async Task Listing_schedules_takes_as_many_statements_for_twenty_schedules_as_for_two()
    {
        var prefix = $"list-{Guid.NewGuid():N}"[..13];
        var names = new List<string>();
        async Task AddAsync(int count)
        {
            for (var i = names.Count; count-- > 0; i++)
            {
                names.Add($"{prefix}-{i:D2}");
                await stack.Http.CreateScheduleAsync(new { name = names[^1], task = "demo.echo", cron = "0 0 3 * * ?" });
            }
        }
        await AddAsync(2);
        using var triggered = await stack.Http.PostAsync($"/api/v1/schedules/{names[0]}/trigger", null);
        var task = (await triggered.Content.ReadFromJsonAsync<TaskView>(ApiExtensions.Json))!;
        await CountStatementsAsync(); // the first call pays one-time reads (Quartz's, EF's): not what is counted
        var few = await CountStatementsAsync();
        await AddAsync(18);
        var (many, list) = (await CountStatementsAsync(), await stack.Http.GetFromJsonAsync<JsonElement>("/api/v1/schedules", ApiExtensions.Json));

        Assert.Equal(few, many);
        var listed = list.GetProperty("items").EnumerateArray().Where(s => s.GetProperty("name").GetString()!.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(names, listed.Select(s => s.GetProperty("name").GetString()));
        Assert.Equal(task.Id, listed[0].GetProperty("lastTaskId").GetGuid()); // every schedule's last fire, read at once
        Assert.All(listed.Skip(1), s => Assert.Equal(JsonValueKind.Null, s.GetProperty("lastTaskId").ValueKind));
        Assert.All(listed, s => Assert.Equal(5, s.GetProperty("nextFireTimes").GetArrayLength()));
        foreach (var name in names) await stack.Http.DeleteScheduleAsync(name);
    }

    private Task<int> CountStatementsAsync() => Statements.CountAsync(async traceparent =>
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/schedules");
        request.Headers.Add("traceparent", traceparent);
        using var response = await stack.Http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    });
}
