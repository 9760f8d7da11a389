using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Tasks.Core.Queries;
using Tasks.Web.Apis;
using Tasks.Web.Dashboard;

namespace Tasks.Web.Pages;

/// <summary>
/// Failed tasks grouped by name and their error's first line; admins retry or delete a whole group (a bulk action
/// on its name and error, set-based) or open its tasks to retry one.
/// </summary>
public sealed class FailedModel(TaskQueries queries, BulkActions bulk, StateCountsCache counts) : PageModel
{
    public List<FailedGroup> Groups { get; private set; } = [];
    public string? Message { get; private set; }

    public async Task OnGetAsync(CancellationToken ct) => Groups = await queries.FailedGroupsAsync(200, ct);

    public Task<IActionResult> OnPostRetryAsync(string name, string error, CancellationToken ct) => RunAsync(BulkAction.Retry, name, error, ct);

    public Task<IActionResult> OnPostDeleteAsync(string name, string error, CancellationToken ct) => RunAsync(BulkAction.Delete, name, error, ct);

    public static string TasksLink(FailedGroup g) =>
        "/tasks" + QueryString.Create(new Dictionary<string, string?> { ["state"] = "failed", ["name"] = g.Name, ["error"] = g.Error }).ToUriComponent();

    private async Task<IActionResult> RunAsync(BulkAction action, string name, string? error, CancellationToken ct)
    {
        // An empty form field binds as null: the group of tasks without an error has the empty first line.
        var errors = new Dictionary<string, string[]>();
        if (new FilterBody("failed", name, null, null, null, null, error ?? "").ToFilter(errors) is not { } filter)
            return BadRequest(errors);
        var touched = await bulk.RunAsync(action, filter, ct);
        await counts.InvalidateAsync(ct);
        Message = $"{TasksModel.Verb(action)} {touched} failed task(s) of {name}.";
        Groups = await queries.FailedGroupsAsync(200, ct);
        return Page();
    }
}
