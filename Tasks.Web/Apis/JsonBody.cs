using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Tasks.Web.Apis;

/// <summary>
/// Reads a JSON body strictly (unknown fields are errors) within the size limit, turning every way it can be
/// wrong into a problem+json answer that names the field: 400 for malformed JSON or wrong types, 413 when too big,
/// 415 when it isn't JSON.
/// </summary>
internal static class JsonBody
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        AllowDuplicateProperties = false, // which of two "name"s was meant is a guess: refuse it
    };

    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, long limit, CancellationToken ct)
        where T : class
    {
        if (!request.HasJsonContentType())
            return (null, Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "Send the body as application/json."));
        if (request.ContentLength > limit)
            return (null, TooLarge(limit));
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = limit;
        try
        {
            var value = await JsonSerializer.DeserializeAsync<T>(request.Body, Options, ct);
            return value is null
                ? (null, Invalid("$", "The body must be a JSON object."))
                : (value, null);
        }
        catch (JsonException e)
        {
            return (null, Invalid(e.Path, Clean(e.Message)));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, TooLarge(limit));
        }
    }

    public static ProblemHttpResult Invalid(string? path, string message)
    {
        var field = string.IsNullOrEmpty(path) || path == "$" ? "$" : path.TrimStart('$', '.');
        return TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] })
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request body is not valid JSON for this endpoint.",
            Detail = $"{field}: {message}",
        });
    }

    public static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);

    private static ProblemHttpResult TooLarge(long limit) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The body must be at most {limit} bytes (setting Api:MaxBodyBytes).");

    private static string Clean(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        return cut < 0 ? message : message[..cut];
    }
}
