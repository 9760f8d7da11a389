using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// What the monitor's tests share: a scheduler environment taking a snapshot a second, worker rows written as a
/// heartbeat would ("simulated workers", so a test decides exactly what they counted), and waits on alerts.
/// </summary>
public static class MonitorRows
{
    /// <summary>The fixture's database is shared by a class's tests: each starts from no snapshots, alerts or workers.</summary>
    public static Task ResetMonitorAsync(this TasksStack stack) =>
        stack.ExecuteAsync("DELETE FROM monitor_snapshots; DELETE FROM monitor_alerts; DELETE FROM workers");

    public static Dictionary<string, string> MonitorEnvironment(this HostsOnlyStack stack, Dictionary<string, string>? extra = null)
    {
        var env = stack.Environment();
        env["Monitor__SnapshotSeconds"] = "1";
        env["Beat__CheckinIntervalSeconds"] = "1";
        env["Beat__CheckinMisfireThresholdSeconds"] = "1";
        foreach (var (k, v) in extra ?? []) env[k] = v;
        return env;
    }

    /// <summary>A heartbeat's <c>stats</c>: per task name, its counters and one run-time bucket (20-50 ms).</summary>
    public static string Stats(params (string Name, long Started, long Succeeded, long Failed, long Retried, long InBucket5)[] names) =>
        JsonSerializer.Serialize(names.ToDictionary(n => n.Name, n =>
        {
            var buckets = new long[17];
            buckets[5] = n.InBucket5;
            return new { started = n.Started, succeeded = n.Succeeded, failed = n.Failed, retried = n.Retried, runMs = buckets, waitMs = buckets };
        }));

    public static Task UpsertWorkerAsync(this TasksStack stack,
        string name, DateTimeOffset startedAt, string stats, TimeSpan? heartbeatAgo = null, TimeSpan? stoppedAgo = null, string queues = "[]") =>
        stack.ExecuteAsync(
            """
            INSERT INTO workers (name, host, pid, version, queues, processed, succeeded, failed, retried, stats, started_at, heartbeat_at, heartbeat_seconds, stopped_at)
            VALUES ($1, 'test', 1, 'test', $2::jsonb, 0, 0, 0, 0, $3::jsonb, $4, now() - $5::interval, 1, now() - $6::interval)
            ON CONFLICT (name) DO UPDATE SET stats = excluded.stats, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, stopped_at = excluded.stopped_at
            """,
            name, queues, stats, startedAt, heartbeatAgo ?? TimeSpan.Zero, (object?)stoppedAgo ?? DBNull.Value);

    public static async Task<JsonElement> WaitForAlertAsync(this TasksStack stack, string kind, string subject, bool active)
    {
        JsonElement found = default;
        await WaitUntilAsync(async () =>
        {
            var alerts = await stack.Http.GetFromJsonAsync<JsonElement>($"/api/v1/alerts?active={(active ? "true" : "false")}", ApiExtensions.Json);
            found = alerts.GetProperty("items").EnumerateArray()
                .FirstOrDefault(a => a.GetProperty("kind").GetString() == kind && a.GetProperty("subject").GetString() == subject);
            return found.ValueKind == JsonValueKind.Object;
        }, $"{(active ? "an open" : "an ended")} {kind} alert for {subject}");
        return found;
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 45)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(seconds), $"No {what} within {seconds} s");
            await Task.Delay(200);
        }
    }
}
