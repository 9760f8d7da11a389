using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;

namespace Tasks.Web.Dashboard;

/// <summary>
/// Closed by default: on every dashboard page, a handler for anything but GET or HEAD is an action, and only admins
/// act; a viewer gets 403 (the pages also hide the buttons). The sign-in page is the one exception (anonymous).
/// </summary>
internal sealed class ActionsNeedAdmin : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var http = context.HttpContext;
        if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)
            || http.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null
            || DashboardSession.CanAct(http.User))
        {
            await next();
            return;
        }
        context.Result = new ObjectResult(new ProblemDetails
        {
            Status = StatusCodes.Status403Forbidden,
            Title = "Only admins can do this",
            Detail = $"'{http.User.Identity?.Name}' is a viewer: viewers read, admins act.",
        }) { StatusCode = StatusCodes.Status403Forbidden };
    }
}
