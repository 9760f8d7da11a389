using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tasks.Core.Enqueueing;
using Tasks.Core.Queries;
using Tasks.Core.Registry;
using Tasks.Core.Schedules;
using Tasks.Web.Apis;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// Schedules: next and last fires, the last task and its state, paused or not, where each came from; admins pause,
/// resume and trigger (through the same store and enqueue path as <c>/api/v1/schedules</c>).
/// </summary>
public sealed class SchedulesModel(ScheduleStore store, ScheduleQueries queries) : PageModel
{
    public List<ScheduleRow> Rows { get; } = [];

    public async Task OnGetAsync(CancellationToken ct)
    {
        foreach (var s in await store.ListAsync(ct)) Rows.Add(await RowAsync(s, ct));
    }

    public Task<IActionResult> OnPostPauseAsync(string name, CancellationToken ct) => ChangeAsync(name, store.PauseAsync, "Paused", ct);

    public Task<IActionResult> OnPostResumeAsync(string name, CancellationToken ct) => ChangeAsync(name, store.ResumeAsync, "Resumed", ct);

    public async Task<IActionResult> OnPostTriggerAsync(
        string name, [FromServices] TaskEnqueuer enqueuer, [FromServices] TaskRegistry registry, [FromServices] TimeProvider clock,
        [FromServices] StateCountsCache counts, CancellationToken ct)
    {
        var result = await SchedulesApi.TriggerSchedule(name, store, enqueuer, registry, clock, ct);
        if (result.Result is ProblemHttpResult problem) return await AnswerAsync(name, false, problem.ProblemDetails.Detail ?? "Not triggered.", null, ct);
        await counts.InvalidateAsync(ct);
        return await AnswerAsync(name, true, $"Triggered '{name}':", ((Accepted<TaskResource>)result.Result).Value!.Id, ct);
    }

    private async Task<IActionResult> ChangeAsync(string name, Func<string, CancellationToken, Task> change, string done, CancellationToken ct)
    {
        if (await store.GetAsync(name, ct) is null) return await AnswerAsync(name, false, $"There is no schedule '{name}'.", null, ct);
        await change(name, ct);
        return await AnswerAsync(name, true, $"{done} '{name}'.", null, ct);
    }

    /// <summary>htmx gets the row anew and a flash message; a plain form post goes back to the page.</summary>
    private async Task<IActionResult> AnswerAsync(string name, bool ok, string message, Guid? taskId, CancellationToken ct)
    {
        if (!Request.Headers.ContainsKey("HX-Request")) return RedirectToPage();
        var row = await store.GetAsync(name, ct) is { } s ? await RowAsync(s, ct) : null;
        if (!ok) Response.StatusCode = row is null ? StatusCodes.Status404NotFound : StatusCodes.Status409Conflict;
        return Partial("_ScheduleChanged", new ScheduleChanged(row, ok, message, taskId));
    }

    private async Task<ScheduleRow> RowAsync(StoredSchedule s, CancellationToken ct)
    {
        var last = await queries.RecentFiresAsync(s.Definition.Name!, 1, ct);
        return new ScheduleRow(s, last.Count > 0 ? last[0] : null);
    }
}

public sealed record ScheduleRow(StoredSchedule Schedule, ScheduleFire? Last);

public sealed record ScheduleChanged(ScheduleRow? Row, bool Ok, string Message, Guid? TaskId);
