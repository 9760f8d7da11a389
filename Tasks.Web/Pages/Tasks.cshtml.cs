using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tasks.Core.Queries;
using Tasks.Web.Apis;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// Tasks: the list by state, name, queue, schedule and time range (keyset "next page", through the same query as
/// <c>GET /api/v1/tasks</c>), find by id, and a bulk action on the filter for admins, confirmed with its count.
/// </summary>
public sealed class TasksModel(TaskQueries queries, BulkActions bulk, StateCountsCache counts) : PageModel
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)] public string? State { get; set; }
    [BindProperty(SupportsGet = true)] public string? Name { get; set; }
    [BindProperty(SupportsGet = true)] public string? Queue { get; set; }
    [BindProperty(SupportsGet = true)] public string? Schedule { get; set; }
    [BindProperty(SupportsGet = true)] public string? From { get; set; }
    [BindProperty(SupportsGet = true)] public string? To { get; set; }
    [BindProperty(SupportsGet = true)] public string? Error { get; set; }
    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }

    public List<TaskSummary> Items { get; private set; } = [];
    public string? NextCursor { get; private set; }
    public Dictionary<string, string[]> Errors { get; } = [];

    /// <summary>After "Preview": the action asked for and how many tasks it would touch, awaiting confirmation.</summary>
    public (BulkAction Action, long Matched)? Pending { get; private set; }
    public string? Message { get; private set; }

    public async Task<IActionResult> OnGetAsync(string? id, CancellationToken ct)
    {
        if (id is not null)
        {
            if (Guid.TryParse(id.Trim(), out var found) && await queries.GetAsync(found, ct) is not null) return Redirect($"/tasks/{found}");
            Errors["id"] = [$"There is no task '{id}'."];
        }
        await LoadAsync(ct);
        return Page();
    }

    /// <summary>Counts what the action would touch and asks to confirm (nothing changes yet).</summary>
    public async Task<IActionResult> OnPostPreviewAsync(BulkAction action, CancellationToken ct)
    {
        if (Filter() is { } filter && Check(action, filter)) Pending = (action, await bulk.CountAsync(action, filter, ct));
        await LoadAsync(ct);
        return Page();
    }

    public async Task<IActionResult> OnPostRunAsync(BulkAction action, CancellationToken ct)
    {
        if (Filter() is { } filter && Check(action, filter))
        {
            var touched = await bulk.RunAsync(action, filter, ct);
            await counts.InvalidateAsync(ct);
            Message = $"{Verb(action)} {touched} task(s).";
        }
        await LoadAsync(ct);
        return Page();
    }

    public static string Verb(BulkAction action) => action switch
    {
        BulkAction.Retry => "Retried",
        BulkAction.Cancel => "Canceled",
        _ => "Deleted",
    };

    /// <summary>This page's address with the filter (and a cursor, for the next page).</summary>
    public string Link(string? cursor = null) => QueryString.Create(new Dictionary<string, string?>
    {
        ["state"] = State, ["name"] = Name, ["queue"] = Queue, ["schedule"] = Schedule, ["from"] = From, ["to"] = To,
        ["error"] = Error, ["cursor"] = cursor,
    }.Where(p => !string.IsNullOrEmpty(p.Value))).ToUriComponent() is var q && q.Length > 0 ? "/tasks" + q : "/tasks";

    private async Task LoadAsync(CancellationToken ct)
    {
        Guid? after = null;
        if (!string.IsNullOrEmpty(Cursor))
        {
            if (Apis.Cursor.TryDecode(Cursor, out var c)) after = c;
            else Errors["cursor"] = ["That page link is not one this page gave out."];
        }
        if (Errors.Count > 0 || Filter(after) is not { } filter) return;
        (Items, var next) = await queries.ListAsync(filter, ct);
        NextCursor = next is { } n ? Apis.Cursor.Encode(n) : null;
    }

    // Empty form fields are "any"; a datetime-local field has no zone: it is read as UTC, as the page shows times.
    private TaskFilter? Filter(Guid? after = null) =>
        new FilterBody(Blank(State), Blank(Name), Blank(Queue), Blank(Schedule), Blank(From), Blank(To), Blank(Error))
            .ToFilter(Errors, PageSize, after);

    private bool Check(BulkAction action, TaskFilter filter)
    {
        if (BulkActions.StatesFor(action, filter).Length > 0) return true;
        Errors["state"] = [$"{action} takes tasks that are {string.Join(", ", BulkActions.StatesOf(action).Allowed.Select(Display.State))}."];
        return false;
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
