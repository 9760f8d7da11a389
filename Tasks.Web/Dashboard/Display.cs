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

    /// <summary>From start to end, or a dash (still running, or never started): "850 ms", "12.3 s", "4 min 05 s".</summary>
    public static string Duration(DateTimeOffset? start, DateTimeOffset? end)
    {
        if (start is not { } from || end is not { } to) return "–";
        var d = to - from;
        if (d < TimeSpan.Zero) d = TimeSpan.Zero; // a lost attempt ends on the database's clock, it started on the worker's
        return d.TotalSeconds < 1 ? string.Create(CultureInfo.InvariantCulture, $"{d.TotalMilliseconds:0} ms")
            : d.TotalMinutes < 1 ? string.Create(CultureInfo.InvariantCulture, $"{d.TotalSeconds:0.0} s")
            : string.Create(CultureInfo.InvariantCulture, $"{(int)d.TotalMinutes} min {d.Seconds:00} s");
    }
}
