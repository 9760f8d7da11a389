using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authorization;
using Tasks.Core.Auth;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;

namespace Tasks.Web;

/// <summary>
/// The front page until the dashboard lands: task counts by state and where the API is. The counts are task data:
/// only a caller allowed to read (an API key with the read scope) sees them.
/// </summary>
internal static class Overview
{
    public static async Task<IResult> Render(HttpContext http, IAuthorizationService authorization, TaskQueries queries, CancellationToken ct)
    {
        var html = new StringBuilder("<!doctype html><html lang=en><meta charset=utf-8><title>Tasks</title>")
            .Append("<style>body{font:15px system-ui;margin:2rem}td,th{padding:.2rem .8rem;text-align:left}</style>")
            .Append("<h1>Tasks</h1>");
        if ((await authorization.AuthorizeAsync(http.User, ApiKeyScopes.Read)).Succeeded)
        {
            var counts = await queries.CountByStateAsync(ct);
            html.Append("<table><tr><th>State</th><th>Tasks</th></tr>");
            foreach (var state in Enum.GetValues<TaskState>())
                html.Append("<tr><td>").Append(HtmlEncoder.Default.Encode(TaskStateMachine.NameOf(state)))
                    .Append("</td><td>").Append(counts.GetValueOrDefault(state)).Append("</td></tr>");
            html.Append("</table>");
        }
        else
        {
            html.Append("<p>Task data needs an API key (<code>Authorization: Bearer &lt;key&gt;</code>) with the read scope.</p>");
        }
        html.Append("<p>API: <a href=\"/api/v1/tasks\">/api/v1/tasks</a> · health: <a href=\"/health/ready\">/health/ready</a></p>");
        return TypedResults.Content(html.ToString(), "text/html; charset=utf-8");
    }
}
