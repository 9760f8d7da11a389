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
/// resume and trigger, and create one (through the same store, validation and enqueue path as <c>/api/v1/schedules</c>).
/// </summary>
public sealed class SchedulesModel(ScheduleStore store, ScheduleQueries queries, ScheduleValidator validator, TaskRegistry registry) : PageModel
{
    public List<ScheduleRow> Rows { get; } = [];
    public ScheduleFormView Form { get; private set; } = null!;
    public string? Deleted { get; private set; }

    public async Task OnGetAsync(string? deleted, CancellationToken ct)
    {
        Deleted = deleted;
        await LoadAsync(new ScheduleInput { Enabled = true }, [], ct);
    }

    /// <summary>The create form's post: the API's <c>POST</c> itself; a refusal shows in the form and stores nothing.</summary>
    public async Task<IActionResult> OnPostCreateAsync(ScheduleInput form, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (form.ToDefinition(errors) is { } definition)
        {
            var result = await SchedulesApi.Create(definition, validator, store, queries, registry, ct);
            if (result.Result is Created<ScheduleResource> created) return Redirect($"/schedules/{Uri.EscapeDataString(created.Value!.Name)}?saved=created");
            var problem = ((ProblemHttpResult)result.Result).ProblemDetails;
            Response.StatusCode = problem.Status ?? StatusCodes.Status400BadRequest;
            if (problem is HttpValidationProblemDetails invalid) errors = new(invalid.Errors);
            else errors["name"] = [problem.Detail ?? problem.Title ?? "Not saved."];
        }
        else Response.StatusCode = StatusCodes.Status400BadRequest;
        await LoadAsync(form, errors, ct);
        return Page();
    }

    /// <summary>The cron check as one types (htmx, every 300 ms of typing): the validator's errors, or the next five fires.</summary>
    public IActionResult OnGetCron(string? cron, string? timeZone) => Partial("_CronPreview", CronPreview.Of(validator, cron, timeZone));

    public Task<IActionResult> OnPostPauseAsync(string name, CancellationToken ct) => ChangeAsync(name, store.PauseAsync, "Paused", ct);

    public Task<IActionResult> OnPostResumeAsync(string name, CancellationToken ct) => ChangeAsync(name, store.ResumeAsync, "Resumed", ct);

    public async Task<IActionResult> OnPostTriggerAsync(
        string name, [FromServices] TaskEnqueuer enqueuer, [FromServices] TimeProvider clock, [FromServices] StateCountsCache counts, CancellationToken ct)
    {
        var result = await SchedulesApi.TriggerSchedule(name, store, enqueuer, registry, clock, ct);
        if (result.Result is ProblemHttpResult problem) return await AnswerAsync(name, false, problem.ProblemDetails.Detail ?? "Not triggered.", null, ct);
        await counts.InvalidateAsync(ct);
        return await AnswerAsync(name, true, $"Triggered '{name}':", ((Accepted<TaskResource>)result.Result).Value!.Id, ct);
    }

    // A constant number of statements whatever the count: the store's reads, then every schedule's last fire at once.
    private async Task LoadAsync(ScheduleInput input, Dictionary<string, string[]> errors, CancellationToken ct)
    {
        var schedules = await store.ListAsync(ct);
        var last = await queries.LastFiresAsync(schedules.Select(s => s.Definition.Name!), ct);
        Rows.AddRange(schedules.Select(s => new ScheduleRow(s, last.GetValueOrDefault(s.Definition.Name!))));
        Form = new ScheduleFormView(input, errors, CronPreview.Of(validator, input.Cron, input.TimeZone), IsNew: true, registry.Names);
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
