using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tasks.Tests.Infrastructure;

public static class ApiExtensions
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static async Task<TaskView> EnqueueAsync(this HttpClient http, object body)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/tasks", body, Json);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Expected 202, got {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<TaskView>(text, Json)!;
    }

    /// <summary><c>POST /api/v1/tasks/batch</c>: the stored tasks, in the given order.</summary>
    public static Task<List<TaskView>> EnqueueBatchAsync(this HttpClient http, params object[] tasks) => http.EnqueueBatchAsync(null, tasks);

    /// <summary><c>POST /api/v1/tasks/batch</c> in the caller's trace (a <c>traceparent</c> header), when given.</summary>
    public static async Task<List<TaskView>> EnqueueBatchAsync(this HttpClient http, string? traceParent, params object[] tasks)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/tasks/batch") { Content = JsonContent.Create(new { tasks }, options: Json) };
        if (traceParent is not null) request.Headers.Add("traceparent", traceParent);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Expected 202, got {(int)response.StatusCode}: {text}");
        return JsonSerializer.Deserialize<BatchView>(text, Json)!.Items;
    }

    private sealed record BatchView(List<TaskView> Items);

    public static async Task<TaskView> GetTaskAsync(this HttpClient http, Guid id) =>
        (await http.GetFromJsonAsync<TaskView>($"/api/v1/tasks/{id}", Json))!;

    /// <summary>Polls the API until the task satisfies <paramref name="condition"/>; fails with its last state after the timeout.</summary>
    public static async Task<TaskView> WaitForAsync(this HttpClient http, Guid id, Func<TaskView, bool> condition, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        TaskView task;
        do
        {
            task = await http.GetTaskAsync(id);
            if (condition(task)) return task;
            await Task.Delay(50);
        } while (clock.Elapsed < TimeSpan.FromSeconds(seconds));
        Assert.Fail($"Task {id} did not reach the expected condition in {seconds} s; last seen: {task}");
        return task;
    }

    public static Task<TaskView> WaitForStateAsync(this HttpClient http, Guid id, string state, int seconds = 30) =>
        http.WaitForAsync(id, t => t.State == state, seconds);
}
