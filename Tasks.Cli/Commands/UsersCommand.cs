using System.CommandLine;
using Spectre.Console;
using Tasks.Cli.Api;

namespace Tasks.Cli.Commands;

/// <summary>
/// <c>tasksctl users add|passwd|list|remove</c>: the dashboard's users over <c>/api/v1/users</c> (admin scope). A
/// password comes from a masked prompt asked twice on a terminal, or one line of stdin; never from an argument,
/// where <c>ps</c> and the shell's history would keep it.
/// </summary>
public static class UsersCommand
{
    public static Command Create() => new("users", """
        Manage the dashboard's users (needs an admin key).
        Example: tasksctl users add ada --role viewer
        """) { Add(), Passwd(), List(), Remove() };

    private static Command Add()
    {
        var name = NameArgument();
        var role = new Option<string>("--role") { Description = "viewer sees, admin also acts", Required = true };
        role.AcceptOnlyFromAmong("viewer", "admin");
        var stdin = PasswordStdin();
        var command = new Command("add", """
            Add a user; the password is asked twice on a terminal, else read from stdin.
            Example: tasksctl users add ada --role admin    or    tasksctl users add bot --role viewer --password-stdin < pw.txt
            """) { name, role, stdin };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var password = await ReadPasswordAsync(parse.GetValue(stdin), ct);
            var json = await session.Api.PostAsync("users", new { name = parse.GetValue(name), role = parse.GetValue(role), password }, ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else Output.Note($"User '{parse.GetValue(name)}' ({parse.GetValue(role)}) added.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Passwd()
    {
        var name = NameArgument();
        var stdin = PasswordStdin();
        var command = new Command("passwd", """
            Set a user's password (asked twice on a terminal, else read from stdin); their sessions end.
            Example: tasksctl users passwd ada
            """) { name, stdin };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var password = await ReadPasswordAsync(parse.GetValue(stdin), ct);
            var json = await session.Api.PutAsync($"users/{Uri.EscapeDataString(parse.GetValue(name)!)}", new { password }, ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else Output.Note($"Password of '{parse.GetValue(name)}' changed; their sessions are ended.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command List()
    {
        var command = new Command("list", """
            List users: name, role, when created and last changed.
            Example: tasksctl users list
            """);
        Session.SetAction(command, async (_, session, ct) =>
        {
            var json = await session.Api.GetAsync("users", ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else session.Output.Table(["NAME", "ROLE", "CREATED", "CHANGED"], TasksClient.Read<UserList>(json).Items.Select(u =>
                (IReadOnlyList<string>)[u.Name, u.Role, Output.Time(u.CreatedAt), Output.Time(u.UpdatedAt)]));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Remove()
    {
        var name = NameArgument();
        var command = new Command("remove", """
            Delete a user; their sessions end.
            Example: tasksctl users remove ada
            """) { name };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            await session.Api.DeleteAsync($"users/{Uri.EscapeDataString(parse.GetValue(name)!)}", ct);
            if (session.Output.Json) session.Output.WriteJson(new { name = parse.GetValue(name), removed = true });
            else Output.Note($"User '{parse.GetValue(name)}' removed.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Argument<string> NameArgument() => new("NAME") { Description = "The user's name" };

    private static Option<bool> PasswordStdin() => new("--password-stdin")
    {
        Description = "Read the password from the first line of stdin (the default when stdin is not a terminal)",
    };

    /// <summary>
    /// One line of stdin when piped (or asked to), else a masked prompt asked twice on stderr (stdout stays the answer's).
    /// The API judges its length, so its rule is said in one place.
    /// </summary>
    private static async Task<string> ReadPasswordAsync(bool fromStdin, CancellationToken ct)
    {
        if (fromStdin || Console.IsInputRedirected)
        {
            var line = await Console.In.ReadLineAsync(ct);
            return string.IsNullOrEmpty(line) ? throw new CliException(ExitCodes.Usage, "no password on stdin (one line).") : line;
        }
        var prompt = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        var first = await new TextPrompt<string>("Password:").Secret().ShowAsync(prompt, ct);
        var again = await new TextPrompt<string>("Again:").Secret().ShowAsync(prompt, ct);
        return first == again ? first : throw new CliException(ExitCodes.Usage, "the two passwords differ; nothing was changed.");
    }
}
