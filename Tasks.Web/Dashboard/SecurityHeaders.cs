namespace Tasks.Web.Dashboard;

/// <summary>
/// On every response (pages, API, errors): a Content-Security-Policy that allows only this origin's own files, so
/// no inline script or style runs even if some text slipped through unencoded, and no page can be framed. See
/// docs/design.md, "Dashboard sign-in".
/// </summary>
internal static class SecurityHeaders
{
    public const string Policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    // Set as the response starts: the exception handler clears headers set earlier.
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use((http, next) =>
    {
        http.Response.OnStarting(static state =>
        {
            var headers = ((HttpResponse)state).Headers;
            headers.ContentSecurityPolicy = Policy;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY"; // frame-ancestors for browsers that predate it
            headers["Referrer-Policy"] = "same-origin";
            return Task.CompletedTask;
        }, http.Response);
        return next(http);
    });
}
