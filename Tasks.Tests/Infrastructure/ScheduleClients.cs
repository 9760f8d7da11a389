using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;

namespace Tasks.Tests.Infrastructure;

/// <summary>A schedule as a client of the HTTP API reads it (the test's own copy of the contract).</summary>
public sealed record ScheduleView(
    string Name, string Task, JsonElement? Args, string? Queue, string? Cron, int? IntervalSeconds, string? TimeZone,
    bool Enabled, string Misfire, string? Description, string Source, bool Paused, List<DateTimeOffset> NextFireTimes,
    DateTimeOffset? LastFireTime, Guid? LastTaskId, string? LastTaskState);

public sealed record ScheduleFireView(DateTimeOffset FireTime, Guid TaskId, string TaskState);

/// <summary>The schedules API, and a schedule's fires as the database holds them.</summary>
public static class ScheduleClients
{
    public static async Task<ScheduleView> CreateScheduleAsync(this HttpClient http, object body)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/schedules", body, ApiExtensions.Json);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"Expected 201, got {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<ScheduleView>(text, ApiExtensions.Json)!;
    }

    public static async Task<ScheduleView> GetScheduleAsync(this HttpClient http, string name) =>
        (await http.GetFromJsonAsync<ScheduleView>($"/api/v1/schedules/{name}", ApiExtensions.Json))!;

    public static async Task DeleteScheduleAsync(this HttpClient http, string name)
    {
        using var response = await http.DeleteAsync($"/api/v1/schedules/{name}");
        Assert.True(response.StatusCode is HttpStatusCode.NoContent or HttpStatusCode.NotFound, $"DELETE {name}: {(int)response.StatusCode}");
    }

    /// <summary>Every task a schedule enqueued: (scheduled fire time, id), oldest first.</summary>
    public static async Task<List<(DateTimeOffset FireTime, Guid Id)>> FiresAsync(this TasksStack stack, string schedule)
    {
        await using var db = stack.OpenDatabase();
        await using var cmd = db.CreateCommand("SELECT scheduled_fire_time, id FROM tasks WHERE schedule_name = $1 ORDER BY scheduled_fire_time, id");
        cmd.Parameters.Add(new NpgsqlParameter { Value = schedule });
        var fires = new List<(DateTimeOffset, Guid)>();
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync()) fires.Add((reader.GetFieldValue<DateTimeOffset>(0), reader.GetGuid(1)));
        return fires;
    }

    /// <summary>Waits until <paramref name="condition"/> holds for a schedule's fires; fails with what was seen.</summary>
    public static async Task<List<(DateTimeOffset FireTime, Guid Id)>> WaitForFiresAsync(
        this TasksStack stack, string schedule, Func<List<(DateTimeOffset FireTime, Guid Id)>, bool> condition, int seconds = 30)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        List<(DateTimeOffset FireTime, Guid Id)> fires;
        do
        {
            fires = await stack.FiresAsync(schedule);
            if (condition(fires)) return fires;
            await Task.Delay(200);
        } while (clock.Elapsed < TimeSpan.FromSeconds(seconds));
        Assert.Fail($"Schedule {schedule}: the expected fires did not come in {seconds} s; saw {fires.Count}: {string.Join(", ", fires.Select(f => f.FireTime.ToString("HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture)))}");
        return fires;
    }

    /// <summary>The sum of a metric's samples for one schedule on a host's <c>/metrics</c> (Prometheus text).</summary>
    public static async Task<double> ScheduleMetricAsync(this HostProcess host, string metric, string schedule)
    {
        using var http = new HttpClient { BaseAddress = host.Address };
        var text = await http.GetStringAsync("/metrics");
        return text.Split('\n')
            .Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && l.Contains($"schedule=\"{schedule}\"", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture));
    }
}
