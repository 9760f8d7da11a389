using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Tasks.Core.Hosting;
using Tasks.Core.Monitoring;

namespace Tasks.Scheduler.Monitoring;

/// <summary>
/// Reads the queues of our vhost from RabbitMQ's management API (<c>RabbitMq:ManagementUrl</c>; without it,
/// <see cref="Configured"/> is false and nothing is read). The broker's user and password are used unless the URL
/// carries its own. Shared by the backlog gauges and the camera.
/// </summary>
public sealed class RabbitManagement
{
    private readonly IHttpClientFactory _http;
    private readonly Uri? _management;
    private readonly string _vhost;

    public RabbitManagement(IHttpClientFactory http, IConfiguration configuration)
    {
        _http = http;
        var rabbit = new Uri(ConnectionSettings.Require(configuration, ConnectionSettings.RabbitMq));
        _vhost = rabbit.AbsolutePath.Trim('/') is { Length: > 0 } v ? Uri.UnescapeDataString(v) : "/";
        if (configuration["RabbitMq:ManagementUrl"] is { Length: > 0 } url)
        {
            var management = new UriBuilder(url);
            if (string.IsNullOrEmpty(management.UserName) && rabbit.UserInfo.Split(':') is [var user, var password])
            {
                management.UserName = user;
                management.Password = password;
            }
            _management = management.Uri;
        }
    }

    public bool Configured => _management is not null;

    /// <summary>The management API's address without credentials, for messages; null when not configured.</summary>
    public Uri? Endpoint => _management is null ? null : new UriBuilder(_management) { UserName = "", Password = "" }.Uri;

    /// <summary>Each queue: messages ready and unacknowledged, consumers, and the broker's publish and deliver rates (per second, over its last few seconds).</summary>
    public async Task<Dictionary<string, QueueFigures>> QueuesAsync(CancellationToken ct)
    {
        var queues = new Dictionary<string, QueueFigures>(StringComparer.Ordinal);
        if (_management is not { } management) return queues;
        using var http = _http.CreateClient(nameof(RabbitManagement));
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(management,
            $"api/queues/{Uri.EscapeDataString(_vhost)}?columns=name,messages_ready,messages_unacknowledged,consumers,message_stats"));
        if (!string.IsNullOrEmpty(management.UserInfo))
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(management.UserInfo))));
        using var response = await http.SendAsync(request, ct);
        response.EnsureSuccessStatusCode();
        using var json = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(ct), cancellationToken: ct);
        foreach (var queue in json.RootElement.EnumerateArray())
        {
            if (!queue.TryGetProperty("messages_ready", out var ready)) continue; // not yet reported by the broker
            var stats = queue.TryGetProperty("message_stats", out var s) ? s : default;
            queues[queue.GetProperty("name").GetString()!] = new QueueFigures(
                ready.GetInt64(),
                queue.TryGetProperty("consumers", out var consumers) ? consumers.GetInt32() : 0,
                Rate(stats, "publish_details"), Rate(stats, "deliver_get_details"),
                queue.TryGetProperty("messages_unacknowledged", out var unacked) ? unacked.GetInt64() : 0);
        }
        return queues;
    }

    private static double Rate(JsonElement stats, string details) =>
        stats.ValueKind == JsonValueKind.Object && stats.TryGetProperty(details, out var d) && d.TryGetProperty("rate", out var rate)
            ? rate.GetDouble() : 0;
}
