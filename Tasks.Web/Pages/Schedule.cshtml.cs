using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Tasks.Core.Queries;
using Tasks.Core.Registry;
using Tasks.Core.Schedules;
using Tasks.Web.Apis;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// One schedule: what it runs and when, its next five fires, its recent fires (the query behind
/// <c>GET /api/v1/schedules/{name}/fires</c>, refreshed by htmx), and for admins the edit form and delete, both through
/// the API's own handlers (a config schedule is refused with the API's 409, shown before anyone tries).
/// </summary>
public sealed class ScheduleModel(ScheduleStore store, ScheduleQueries queries, ScheduleValidator validator, TaskRegistry registry, IOptions<DashboardOptions> options) : PageModel
{
    public const int FireCount = 20;

    public StoredSchedule Schedule { get; private set; } = null!;
    public List<ScheduleFire> Fires { get; private set; } = [];
    public ScheduleFormView Form { get; private set; } = null!;
    public string? Message { get; private set; }
    public bool Ok { get; private set; }
    public bool ConfirmDelete { get; private set; }
    public int RefreshSeconds => options.Value.RefreshSeconds;

    /// <summary>Why this schedule can't be edited or deleted here; null for an API schedule.</summary>
    public string? ConfigOnly => Schedule.Source == ScheduleStore.Config ? SchedulesApi.ConfigOnly(Schedule.Definition.Name!, "changed or deleted") : null;

    public async Task<IActionResult> OnGetAsync(string name, string? saved, bool delete, CancellationToken ct)
    {
        if (!await LoadAsync(name, null, [], ct)) return NotFound();
        if (saved is not null) (Ok, Message) = (true, saved == "created" ? $"Created '{name}'." : $"Saved '{name}'.");
        ConfirmDelete = delete && ConfigOnly is null;
        return Page();
    }

    /// <summary>The recent fires alone, for htmx's polling.</summary>
    public async Task<IActionResult> OnGetFiresAsync(string name, CancellationToken ct) =>
        Partial("_ScheduleFires", await queries.RecentFiresAsync(name, FireCount, ct));

    /// <summary>The edit form's post: the API's <c>PUT</c> itself; a refusal shows in the form and changes nothing.</summary>
    public async Task<IActionResult> OnPostSaveAsync(string name, ScheduleInput form, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (form.ToDefinition(errors) is { } definition)
        {
            if (await store.GetAsync(name, ct) is { } stored) definition = Unmasked(definition, stored.Definition);
            var result = await SchedulesApi.Replace(name, definition with { Name = name }, validator, store, queries, registry, ct);
            if (result.Result is Ok<ScheduleResource>) return Redirect($"/schedules/{Uri.EscapeDataString(name)}?saved=changed");
            var problem = ((ProblemHttpResult)result.Result).ProblemDetails;
            Response.StatusCode = problem.Status ?? StatusCodes.Status400BadRequest;
            if (problem is HttpValidationProblemDetails invalid) errors = new(invalid.Errors);
            else (Ok, Message) = (false, problem.Detail ?? problem.Title);
        }
        else Response.StatusCode = StatusCodes.Status400BadRequest;
        form.Name = name;
        return await LoadAsync(name, form, errors, ct) ? Page() : NotFound();
    }

    /// <summary>Reached from the confirmation (<c>?delete=true</c>): the API's <c>DELETE</c>.</summary>
    public async Task<IActionResult> OnPostDeleteAsync(string name, CancellationToken ct)
    {
        var result = await SchedulesApi.DeleteSchedule(name, store, ct);
        if (result.Result is NoContent) return Redirect($"/schedules?deleted={Uri.EscapeDataString(name)}");
        var problem = ((ProblemHttpResult)result.Result).ProblemDetails;
        Response.StatusCode = problem.Status ?? StatusCodes.Status409Conflict;
        (Ok, Message) = (false, problem.Detail);
        return await LoadAsync(name, null, [], ct) ? Page() : NotFound();
    }

    /// <summary>
    /// A sensitive field sent back as the form showed it (<c>***</c>) keeps its stored value: the page never had it,
    /// and storing the mask would break the task. Any other value, typed in, replaces it.
    /// </summary>
    private ScheduleDefinition Unmasked(ScheduleDefinition posted, ScheduleDefinition stored)
    {
        if (posted.Task != stored.Task || posted.Args is not { ValueKind: JsonValueKind.Object } args
            || stored.Args is not { ValueKind: JsonValueKind.Object } kept || !registry.TryGet(posted.Task!, out var task)) return posted;
        var node = JsonNode.Parse(args.GetRawText())!.AsObject();
        foreach (var field in task.SensitiveFields)
            if (node[field] is JsonValue value && value.TryGetValue<string>(out var text) && text == TaskRegistry.Redaction && kept.TryGetProperty(field, out var secret))
                node[field] = JsonNode.Parse(secret.GetRawText());
        return posted with { Args = JsonSerializer.SerializeToElement(node) };
    }

    private async Task<bool> LoadAsync(string name, ScheduleInput? input, Dictionary<string, string[]> errors, CancellationToken ct)
    {
        if (await store.GetAsync(name, ct) is not { } schedule) return false;
        Schedule = schedule;
        Fires = await queries.RecentFiresAsync(name, FireCount, ct);
        input ??= ScheduleInput.From(schedule.Definition, registry);
        Form = new ScheduleFormView(input, errors, CronPreview.Of(validator, input.Cron, input.TimeZone), IsNew: false, registry.Names);
        return true;
    }
}
