using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tasks.Core.Enqueueing;
using Tasks.Core.Entities;
using Tasks.Core.Lifecycle;
using Tasks.Core.Queries;
using Tasks.Core.Registry;
using Tasks.Core.Telemetry;
using Tasks.Web.Apis;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// One task: args (sensitive fields masked), result, error and stack trace, a live progress bar (htmx polls the
/// <c>Progress</c> partial while the task isn't finished), the trace id, and cancel / retry for admins through the
/// API's own handlers, and the attempt history (<see cref="AttemptQueries"/>).
/// </summary>
public sealed class TaskModel(TaskQueries queries, AttemptQueries attempts, TaskRegistry registry) : PageModel
{
    // Razor encodes the text for HTML; escaping it for HTML in the JSON too would show \u003C for every '<'.
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public TaskRecord Task { get; private set; } = null!;
    public List<AttemptView> Attempts { get; private set; } = [];
    public string? Message { get; private set; }
    public bool Ok { get; private set; }

    public string Args => Pretty(registry.Redacted(Task.Name, Task.Args));
    public string? Result => Task.Result is null ? null : Pretty(JsonNode.Parse(Task.Result));
    public string? TraceId => TaskResource.TraceIdOf(Task.TraceParent);
    public bool Finished => TaskStateMachine.IsFinished(Task.State);

    public async Task<IActionResult> OnGetAsync(Guid id, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        Attempts = await attempts.HistoryAsync(Task, ct);
        return Page();
    }

    /// <summary>Rendering the live part for a poll: the attempts come with it, swapped in out of band.</summary>
    public bool Polling { get; private set; }

    /// <summary>The part that moves (state, progress, times, attempts), for htmx's polling.</summary>
    public async Task<IActionResult> OnGetProgressAsync(Guid id, CancellationToken ct)
    {
        if (!await LoadAsync(id, ct)) return NotFound();
        Attempts = await attempts.HistoryAsync(Task, ct);
        Polling = true;
        return Partial("_TaskLive", this);
    }

    public async Task<IActionResult> OnPostCancelAsync(
        Guid id, [FromServices] TaskStateMachine lifecycle, [FromServices] TasksTelemetry telemetry, [FromServices] CancelBroadcast broadcast,
        [FromServices] StateCountsCache counts, CancellationToken ct)
    {
        var result = await TasksApi.CancelTask(id, lifecycle, queries, registry, telemetry, broadcast, ct);
        return await AnswerAsync(id, result.Result as ProblemHttpResult, "Cancel requested.", counts, ct);
    }

    public async Task<IActionResult> OnPostRetryAsync(
        Guid id, [FromServices] TaskStateMachine lifecycle, [FromServices] TaskEnqueuer enqueuer, [FromServices] StateCountsCache counts, CancellationToken ct)
    {
        var result = await TasksApi.RetryTask(id, lifecycle, queries, enqueuer, registry, ct);
        return await AnswerAsync(id, result.Result as ProblemHttpResult, "Retried: it runs again.", counts, ct);
    }

    private async Task<IActionResult> AnswerAsync(Guid id, ProblemHttpResult? problem, string done, StateCountsCache counts, CancellationToken ct)
    {
        if (problem is null) await counts.InvalidateAsync(ct);
        if (!await LoadAsync(id, ct)) return NotFound();
        (Ok, Message) = problem is null ? (true, done) : (false, problem.ProblemDetails.Detail ?? "Not possible.");
        Attempts = await attempts.HistoryAsync(Task, ct);
        return Page();
    }

    private async Task<bool> LoadAsync(Guid id, CancellationToken ct)
    {
        if (await queries.GetAsync(id, ct) is not { } task) return false;
        Task = task;
        return true;
    }

    private static string Pretty(JsonNode? node) => node?.ToJsonString(Indented) ?? "null";
}
