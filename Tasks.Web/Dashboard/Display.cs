using System.Globalization;
using Microsoft.AspNetCore.Html;
using Tasks.Core.Lifecycle;

namespace Tasks.Web.Dashboard;

/// <summary>How the pages show times and states; encoded like everything else Razor writes.</summary>
public static class Display
{
    /// <summary>A <c>&lt;time&gt;</c> in UTC, or a dash.</summary>
    public static IHtmlContent Time(DateTimeOffset? at)
    {
        if (at is not { } t) return new HtmlString("<span class=\"muted\">–</span>");
        var utc = t.UtcDateTime;
        return new HtmlString(string.Create(CultureInfo.InvariantCulture,
            $"<time datetime=\"{utc:yyyy-MM-ddTHH:mm:ssZ}\">{utc:yyyy-MM-dd HH:mm:ss} UTC</time>"));
    }

    public static string State(TaskState state) => TaskStateMachine.NameOf(state);
}
