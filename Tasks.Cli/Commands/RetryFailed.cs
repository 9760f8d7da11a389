using System.CommandLine;
using Spectre.Console;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl retry --failed [--name N] [--yes]</c>: every failed task (of a name) retried in one set-based call
/// (<c>POST /tasks/bulk/retry</c>), after a dry run that says how many it touches. It asks on a terminal; a script
/// passes <c>--yes</c> (without it, and with no terminal to ask at, it only prints the count and exits 9).
/// </summary>
public static class RetryFailed
{
    public sealed record OptionSet(Option<bool> Failed, Option<string> Name, Option<bool> Yes)
    {
        public void AddTo(Command command, Argument<Guid[]> ids)
        {
            command.Options.Add(Failed);
            command.Options.Add(Name);
            command.Options.Add(Yes);
            command.Validators.Add(r =>
            {
                var bulk = r.GetValue(Failed);
                var given = r.GetValue(ids) is { Length: > 0 };
                if (bulk == given) r.AddError("Give task ids, or --failed (with --name to retry one task's failures), not both.");
                else if (!bulk && (r.GetValue(Name) is not null || r.GetValue(Yes))) r.AddError("--name and --yes go with --failed.");
            });
        }
    }

    public static OptionSet Options => new(
        new Option<bool>("--failed") { Description = "Retry every failed task (of --name), in one set-based call" },
        new Option<string>("--name") { Description = "Only the failed tasks of this task name" },
        new Option<bool>("--yes", "-y") { Description = "Don't ask: retry as many as match" });

    public static async Task<int> RunAsync(ParseResult parse, OptionSet options, Session session, CancellationToken ct)
    {
        var name = parse.GetValue(options.Name);
        var filter = new { state = "failed", name };
        var of = name is null ? "" : $" of {name}";
        var matched = (await session.Api.PostAsync("tasks/bulk/retry?dryRun=true", filter, ct)).GetProperty("matched").GetInt64();
        if (matched > 0 && !parse.GetValue(options.Yes))
        {
            if (session.Output.Json || Console.IsInputRedirected || !session.Output.Terminal)
                throw new CliException(ExitCodes.Rejected, $"{matched} failed task(s){of} would be retried; pass --yes to retry them.");
            if (!await session.Output.Ansi.ConfirmAsync($"Retry {matched} failed task(s){Markup.Escape(of)}?", defaultValue: false, ct))
                return ExitCodes.Ok;
        }
        var touched = matched == 0 ? 0 : (await session.Api.PostAsync("tasks/bulk/retry", filter, ct)).GetProperty("touched").GetInt64();
        if (session.Output.Json) session.Output.WriteJson(new { matched, touched });
        else session.Output.Line(touched == 0 ? $"No failed tasks{of}." : $"Retried {touched} failed task(s){of}.");
        return ExitCodes.Ok;
    }
}
