using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Tasks.Core.Control;
using Tasks.Core.Queries;
using Tasks.Web.Apis;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// Workers as their heartbeats describe them (through <see cref="WorkerQueries"/>, like <c>/api/v1/workers</c>),
/// refreshed by htmx; admins ping, shut one down, pause or resume one of its queues through the control API's own
/// handlers, and every outcome, a refusal included, is a flash message.
/// </summary>
public sealed class WorkersModel(WorkerQueries queries, IOptions<DashboardOptions> options) : PageModel
{
    // A ping collects answers for all of it; a command to one named worker returns with its answer.
    private const string PingTimeoutMs = "2000";
    private const string CommandTimeoutMs = "3000";

    /// <summary>htmx asks the table again on this event, sent with every action's answer.</summary>
    public const string ChangedEvent = "workers-changed";

    /// <summary>Running task ids listed per worker; a worker with a hundred slots gets "and N more".</summary>
    public const int RunningShown = 10;

    public List<WorkerResource> Workers { get; } = [];
    public WorkerFlash? Flash { get; private set; }
    public int RefreshSeconds => options.Value.RefreshSeconds;

    public async Task OnGetAsync(CancellationToken ct) => await LoadAsync(ct);

    /// <summary>The table alone, for htmx's polling.</summary>
    public async Task<IActionResult> OnGetLiveAsync(CancellationToken ct)
    {
        await LoadAsync(ct);
        return Partial("_WorkersLive", this);
    }

    public async Task<IActionResult> OnPostPingAsync([FromServices] ControlClient control, CancellationToken ct)
    {
        var result = await WorkersControlApi.Ping(PingTimeoutMs, control, ct);
        return await AnswerAsync(result.Result switch
        {
            Ok<WorkerPingList> { Value.Items: [] } => new WorkerFlash(false, $"No worker answered the ping within {PingTimeoutMs} ms."),
            Ok<WorkerPingList> ok => new WorkerFlash(true, $"{ok.Value!.Items.Count} worker(s) answered the ping:", ok.Value.Items),
            var other => Refused(other),
        }, ct);
    }

    /// <summary>Set when a shutdown was posted without its confirmation (a form sent without JavaScript): the page asks.</summary>
    public string? ConfirmShutdown { get; private set; }

    public async Task<IActionResult> OnPostShutdownAsync(string name, bool confirmed, [FromServices] ControlClient control, CancellationToken ct)
    {
        if (!confirmed)
        {
            ConfirmShutdown = name;
            await LoadAsync(ct);
            return Page();
        }
        var result = await WorkersControlApi.Shutdown(name, CommandTimeoutMs, control, ct);
        return await AnswerAsync(result.Result is Accepted<WorkerControlResult> { Value: { } done }
            ? new WorkerFlash(true, $"Worker '{done.Name}' is shutting down ({done.LatencyMs} ms): {done.Detail}.")
            : Refused(result.Result), ct);
    }

    public Task<IActionResult> OnPostPauseAsync(string name, string queue, [FromServices] ControlClient control, CancellationToken ct) =>
        ChangeQueueAsync(ControlChannel.Pause, name, queue, control, ct);

    public Task<IActionResult> OnPostResumeAsync(string name, string queue, [FromServices] ControlClient control, CancellationToken ct) =>
        ChangeQueueAsync(ControlChannel.Resume, name, queue, control, ct);

    private async Task<IActionResult> ChangeQueueAsync(string command, string name, string queue, ControlClient control, CancellationToken ct)
    {
        var result = await WorkersControlApi.ChangeQueue(command, name, queue ?? "", CommandTimeoutMs, control, ct);
        var done = command == ControlChannel.Pause ? "paused" : "resumed";
        return await AnswerAsync(result.Result is Ok<WorkerControlResult> { Value: { } ok }
            ? new WorkerFlash(true, $"Worker '{ok.Name}' {done} queue '{ok.Queue}' ({ok.LatencyMs} ms).")
            : Refused(result.Result), ct);
    }

    /// <summary>A stable element id for a worker's (and queue's) button: htmx moves focus to it again after a swap.</summary>
    public static string ElementId(string action, string worker, string? queue = null) =>
        action + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{worker}\n{queue}")))[..16];

    /// <summary>The version with its build metadata cut to a short commit hash (all of it is in the cell's title).</summary>
    public static string ShortVersion(string version) =>
        version.IndexOf('+', StringComparison.Ordinal) is var plus and >= 0 && version.Length > plus + 8 ? version[..(plus + 8)] : version;

    private static WorkerFlash Refused(IResult? result) =>
        new(false, (result as ProblemHttpResult)?.ProblemDetails.Detail ?? "The workers did not answer.");

    /// <summary>htmx gets the flash message (and refreshes the table on the event); a plain form post, the page with it.</summary>
    private async Task<IActionResult> AnswerAsync(WorkerFlash flash, CancellationToken ct)
    {
        Flash = flash;
        if (Request.Headers.ContainsKey("HX-Request"))
        {
            Response.Headers["HX-Trigger"] = ChangedEvent;
            return Partial("_WorkerFlash", flash);
        }
        await LoadAsync(ct);
        return Page();
    }

    private async Task LoadAsync(CancellationToken ct) =>
        Workers.AddRange((await WorkersApi.ListWorkers(queries, ct)).Value!.Items);
}

public sealed record WorkerFlash(bool Ok, string Message, IReadOnlyList<WorkerPing>? Pings = null);
