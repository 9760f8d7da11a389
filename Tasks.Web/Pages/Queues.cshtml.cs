using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Tasks.Core.Data;
using Tasks.Core.Entities;
using Tasks.Core.Monitoring;
using Tasks.Core.Queries;
using Tasks.Web.Apis;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// The queues as <c>/api/v1/queues</c> shows them (the camera's latest snapshot of RabbitMQ, plus the queues online
/// workers consume), with which workers paused each and its open "no consumer" alert; refreshed by htmx.
/// </summary>
public sealed class QueuesModel(TasksDbContext db, TimeProvider clock, WorkerQueries workers, IOptions<DashboardOptions> options) : PageModel
{
    public QueueList Queues { get; private set; } = new(null, []);

    /// <summary>Queue → the open <see cref="AlertKinds.QueueWithoutConsumers"/> alert on it.</summary>
    public Dictionary<string, MonitorAlert> Alerts { get; } = new(StringComparer.Ordinal);

    /// <summary>Queue → the online workers that consume it and have it paused.</summary>
    public Dictionary<string, List<string>> PausedBy { get; } = new(StringComparer.Ordinal);

    /// <summary>The open <see cref="AlertKinds.BrokerUnreadable"/> alert: why the latest snapshot has no queue figures.</summary>
    public MonitorAlert? BrokerAlert { get; private set; }

    public int RefreshSeconds => options.Value.RefreshSeconds;

    /// <summary>
    /// A snapshot without figures for any queue: the camera couldn't read RabbitMQ's management API (then
    /// <see cref="BrokerAlert"/> says why), or <c>RabbitMq:ManagementUrl</c> isn't set for the scheduler (a vhost in
    /// use always has queues).
    /// </summary>
    public bool BrokerUnseen => Queues.At is not null && Queues.Items.TrueForAll(q => q.Depth is null);

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    /// <summary>The table alone, for htmx's polling.</summary>
    public async Task<IActionResult> OnGetLiveAsync(CancellationToken ct)
    {
        await LoadAsync(ct);
        return Partial("_QueuesLive", this);
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        Queues = (await MonitorApi.ListQueues(db, clock, ct)).Value!;
        foreach (var alert in await MonitorQueries.AlertsAsync(db, active: true, ct))
            if (alert.Kind == AlertKinds.QueueWithoutConsumers) Alerts[alert.Subject] = alert;
            else if (alert.Kind == AlertKinds.BrokerUnreadable) BrokerAlert = alert;
        foreach (var (worker, state) in await workers.ListAsync(ct))
        {
            if (state != WorkerState.Online) continue;
            foreach (var queue in MonitorJson.Read<List<WorkerQueue>>(worker.Queues).Where(q => q.Paused))
                (PausedBy.TryGetValue(queue.Name, out var names) ? names : PausedBy[queue.Name] = []).Add(worker.Name);
        }
    }
}
