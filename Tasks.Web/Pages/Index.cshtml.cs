using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tasks.Core.Data;
using Tasks.Core.Entities;
using Tasks.Core.Monitoring;
using Tasks.Core.Queries;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// The Overview: what needs attention, counts by state, the throughput and failure charts (drawn by overview.js from
/// <see cref="OnGetSeriesAsync"/>), queue depths, workers online and active alerts; each section refreshed by htmx
/// from its own handler. Everything reads through the query layer the JSON API uses.
/// </summary>
public sealed class IndexModel(StateCountsCache counts, OverviewCache overview, WorkerQueries workers, TasksDbContext db, TimeProvider clock) : PageModel
{
    public StateCounts Counts { get; private set; } = new([]);
    public AttentionView Attention { get; private set; } = null!;
    public QueuesView Queues { get; private set; } = null!;
    public WorkersView Workers { get; private set; } = null!;
    public IReadOnlyList<MonitorAlert> Alerts { get; private set; } = [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        Counts = await counts.GetAsync(ct);
        var all = await workers.ListAsync(ct);
        Attention = await AttentionAsync(all, ct);
        Queues = await QueuesAsync(ct);
        Workers = WorkersOf(all);
        Alerts = await MonitorQueries.AlertsAsync(db, active: true, ct);
    }

    public async Task<IActionResult> OnGetCountsAsync(CancellationToken ct) => Partial("_StateCounts", await counts.GetAsync(ct));

    public async Task<IActionResult> OnGetAttentionAsync(CancellationToken ct) =>
        Partial("_OverviewAttention", await AttentionAsync(await workers.ListAsync(ct), ct));

    public async Task<IActionResult> OnGetQueuesAsync(CancellationToken ct) => Partial("_OverviewQueues", await QueuesAsync(ct));

    public async Task<IActionResult> OnGetWorkersAsync(CancellationToken ct) => Partial("_OverviewWorkers", WorkersOf(await workers.ListAsync(ct)));

    public async Task<IActionResult> OnGetAlertsAsync(CancellationToken ct) =>
        Partial("_OverviewAlerts", await MonitorQueries.AlertsAsync(db, active: true, ct));

    /// <summary>The charts' data as JSON: <c>?range=hour|day|week</c>.</summary>
    public async Task<IActionResult> OnGetSeriesAsync(string? range, CancellationToken ct)
    {
        if (ChartRange.Find(range) is not { } r)
        {
            var problem = new ValidationProblemDetails(new Dictionary<string, string[]> { ["range"] = ["range must be hour, day or week."] })
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request is not valid.",
            };
            return new ObjectResult(problem) { StatusCode = StatusCodes.Status400BadRequest, ContentTypes = { "application/problem+json" } };
        }
        return new JsonResult(await overview.ChartAsync(r, ct));
    }

    private async Task<AttentionView> AttentionAsync(List<(WorkerRecord Worker, WorkerState State)> all, CancellationToken ct) =>
        new(await overview.AttentionAsync(ct), [.. all.Where(w => w.State == WorkerState.Offline).Select(w => w.Worker)]);

    private async Task<QueuesView> QueuesAsync(CancellationToken ct)
    {
        var (at, items) = await MonitorQueries.QueuesAsync(db, clock, ct);
        return new QueuesView(at, items);
    }

    private static WorkersView WorkersOf(List<(WorkerRecord Worker, WorkerState State)> all) =>
        new([.. all.Where(w => w.State == WorkerState.Online).Select(w => w.Worker)]);
}

public sealed record AttentionView(Attention Monitor, IReadOnlyList<WorkerRecord> Offline)
{
    public bool Nothing => Monitor.Failing.Count == 0 && Monitor.Unconsumed.Count == 0 && Monitor.Growing.Count == 0 && Offline.Count == 0;
}

public sealed record QueuesView(DateTimeOffset? At, IReadOnlyList<QueueStatus> Items);

public sealed record WorkersView(IReadOnlyList<WorkerRecord> Online);
