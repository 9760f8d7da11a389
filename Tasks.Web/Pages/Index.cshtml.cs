using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>The Overview: counts by state (cached briefly, refreshed by htmx); the monitor's sections join it.</summary>
public sealed class IndexModel(StateCountsCache counts) : PageModel
{
    public StateCounts Counts { get; private set; } = new([]);

    public async Task OnGetAsync(CancellationToken ct) => Counts = await counts.GetAsync(ct);

    public async Task<IActionResult> OnGetCountsAsync(CancellationToken ct) => Partial("_StateCounts", await counts.GetAsync(ct));
}
