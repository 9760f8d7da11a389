using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace Tasks.Cli.Api;

/// <summary>
/// The Tasks.Web HTTP API as the commands use it: JSON in and out, and every way a call can go wrong turned into a
/// <see cref="CliException"/> with its documented exit code and one line that says what to do.
/// </summary>
public sealed class TasksClient(CliConfig config, TimeSpan timeout) : IDisposable
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http = Create(config, timeout);

    public Task<JsonElement> GetAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Get, path, null, ct);

    public Task<JsonElement> PostAsync(string path, object? body, CancellationToken ct) => SendAsync(HttpMethod.Post, path, body, ct);

    public Task<JsonElement> PutAsync(string path, object? body, CancellationToken ct) => SendAsync(HttpMethod.Put, path, body, ct);

    public Task<JsonElement> DeleteAsync(string path, CancellationToken ct) => SendAsync(HttpMethod.Delete, path, null, ct);

    /// <summary>An answer as <typeparamref name="T"/>, to show; <c>--json</c> prints the answer itself, fields the CLI doesn't know included.</summary>
    public static T Read<T>(JsonElement json)
    {
        try
        {
            return json.Deserialize<T>(Json) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.ServerError, $"the API's answer is not a {typeof(T).Name}: {e.Message}");
        }
    }

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null) request.Content = JsonContent.Create(body, options: Json);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            var why = e.InnerException is SocketException s ? s.Message : e.Message;
            throw new CliException(ExitCodes.CannotConnect, $"cannot connect to {config.Url}: {why.ReplaceLineEndings(" ")}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CliException(ExitCodes.Timeout, $"no answer from {config.Url} within {_http.Timeout.TotalSeconds:0.#} s (--timeout)");
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode) throw Failure(response.StatusCode, Parse(text), config.Key is null);
            if (response.StatusCode == HttpStatusCode.NoContent) return default; // a DELETE's answer: nothing to show
            if (Parse(text) is not { } json)
                throw new CliException(ExitCodes.ServerError, $"{config.Url} answered {(int)response.StatusCode} without JSON; is it the Tasks API?");
            return json;
        }
    }

    private static CliException Failure(HttpStatusCode status, JsonElement? problem, bool noKey)
    {
        var title = problem is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty("title", out var t) ? t.GetString() : null;
        var detail = problem is { ValueKind: JsonValueKind.Object } q && q.TryGetProperty("detail", out var d) ? d.GetString() : null;
        return status switch
        {
            HttpStatusCode.Unauthorized => new CliException(ExitCodes.Unauthorized, noKey
                ? "401 Unauthorized: no API key given; pass --key, set TASKS_API_KEY or run tasksctl login."
                : "401 Unauthorized: the API key is not known; pass another with --key, TASKS_API_KEY or tasksctl login."),
            HttpStatusCode.Forbidden => new CliException(ExitCodes.Forbidden, $"403 Forbidden: {detail ?? title ?? "this key's scope is not enough."}"),
            HttpStatusCode.NotFound => new CliException(ExitCodes.NotFound, $"404 Not found: {detail ?? title ?? "no such resource."}"),
            >= HttpStatusCode.InternalServerError => new CliException(ExitCodes.ServerError, $"{(int)status} {title ?? "server error"}{(detail is null ? "" : ": " + detail)}"),
            _ => new CliException(ExitCodes.Rejected, $"{(int)status} {title ?? "rejected"}: {FieldErrors(problem) ?? detail ?? "(no detail)"}"),
        };
    }

    /// <summary>A validation problem's <c>errors</c> as "field: message; field: message".</summary>
    private static string? FieldErrors(JsonElement? problem)
    {
        if (problem is not { ValueKind: JsonValueKind.Object } p || !p.TryGetProperty("errors", out var errors) || errors.ValueKind != JsonValueKind.Object)
            return null;
        var lines = errors.EnumerateObject().Select(e => $"{e.Name}: {string.Join(" ", e.Value.EnumerateArray().Select(m => m.GetString()))}").ToList();
        return lines.Count == 0 ? null : string.Join("; ", lines);
    }

    private static JsonElement? Parse(string text)
    {
        try
        {
            return string.IsNullOrWhiteSpace(text) ? null : JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static HttpClient Create(CliConfig config, TimeSpan timeout)
    {
        if (!Uri.TryCreate(config.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
            throw new CliException(ExitCodes.Usage, $"'{config.Url}' is not an http(s) URL (--url, TASKS_URL or tasksctl login).");
        // The API lives under /api/v1/ of the given address, which may itself sit under a path behind a proxy.
        var http = new HttpClient { BaseAddress = new Uri(url.ToString().TrimEnd('/') + "/api/v1/"), Timeout = timeout };
        if (config.Key is { } key) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("tasksctl", typeof(TasksClient).Assembly.GetName().Version?.ToString()));
        return http;
    }

    public void Dispose() => _http.Dispose();
}
