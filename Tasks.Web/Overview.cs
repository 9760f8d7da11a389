using System.Text;
using System.Text.Encodings.Web;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;

namespace Tasks.Web;

/// <summary>The front page until the dashboard lands: task counts by state and where the API is.</summary>
internal static class Overview
{
    public static async Task<IResult> Render(TaskQueries queries, CancellationToken ct)
    {
        var counts = await queries.CountByStateAsync(ct);
        var html = new StringBuilder("<!doctype html><html lang=en><meta charset=utf-8><title>Tasks</title>")
            .Append("<style>body{font:15px system-ui;margin:2rem}td,th{padding:.2rem .8rem;text-align:left}</style>")
            .Append("<h1>Tasks</h1><table><tr><th>State</th><th>Tasks</th></tr>");
        foreach (var state in Enum.GetValues<TaskState>())
            html.Append("<tr><td>").Append(HtmlEncoder.Default.Encode(TaskStateMachine.NameOf(state)))
                .Append("</td><td>").Append(counts.GetValueOrDefault(state)).Append("</td></tr>");
        html.Append("</table><p>API: <a href=\"/api/v1/tasks\">/api/v1/tasks</a> · health: <a href=\"/health/ready\">/health/ready</a></p>");
        return TypedResults.Content(html.ToString(), "text/html; charset=utf-8");
    }
}
