using System.Globalization;
using System.Text;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Web.Auth;

/// <summary>
/// <c>dotnet Tasks.Web.dll users add NAME --role viewer|admin</c>, <c>users passwd NAME</c> and <c>users list</c>:
/// dashboard users until the CLI has them. The password is read from stdin (one line; <c>--password-stdin</c> says
/// so explicitly), never from an argument, where <c>ps</c> and shell history would show it. Exit codes as
/// <see cref="KeyCommands"/>: 2 for usage, 1 for a failure.
/// </summary>
public static class UserCommands
{
    public const string Usage = "usage: users add NAME --role viewer|admin [--password-stdin] | users passwd NAME [--password-stdin] | users list";

    public abstract record Command;
    public sealed record Add(string Name, UserRole Role) : Command;
    public sealed record Passwd(string Name) : Command;
    public sealed record List : Command;

    public static Command? Parse(IReadOnlyList<string> args, out string error)
    {
        error = "";
        string? role = null;
        var positional = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--role")
            {
                if (i + 1 >= args.Count) return Fail(out error, "--role needs a value: viewer or admin.");
                role = args[++i];
            }
            else if (args[i].StartsWith("--role=", StringComparison.Ordinal)) role = args[i]["--role=".Length..];
            else if (args[i] == "--password-stdin") { } // the only way a password comes in; accepted for scripts that say so
            else if (args[i].StartsWith('-')) return Fail(out error, $"unknown option '{args[i]}'. {Usage}");
            else positional.Add(args[i]);
        }
        switch (positional)
        {
            case ["add", var name]:
                if (!Users.IsValidName(name)) return Fail(out error, $"'{name}' is not a user name: {Users.NameRule}.");
                if (role is null) return Fail(out error, "users add needs --role viewer or admin.");
                if (!UserRoles.TryParse(role, out var r)) return Fail(out error, $"unknown role '{role}': viewer or admin.");
                return new Add(name, r);
            case ["passwd", var name] when role is null:
                return new Passwd(name);
            case ["list"] when role is null:
                return new List();
            default:
                return Fail(out error, Usage);
        }
    }

    public static async Task<int> RunAsync(IServiceProvider services, Command command, TextReader stdin, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TasksDbContext>();
        var clock = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        try
        {
            switch (command)
            {
                case Add a:
                    if (await ReadPasswordAsync(stdin, stderr) is not { } password) return 1;
                    if (!await Users.CreateAsync(db, a.Name, a.Role, password, clock, ct))
                    {
                        await stderr.WriteLineAsync($"users: a user named '{a.Name}' exists already (users passwd changes the password).");
                        return 1;
                    }
                    await stderr.WriteLineAsync($"User '{a.Name}' ({UserRoles.NameOf(a.Role)}) created.");
                    return 0;
                case Passwd p:
                    if (await ReadPasswordAsync(stdin, stderr) is not { } newPassword) return 1;
                    if (!await Users.UpdateAsync(db, p.Name, null, newPassword, clock, ct))
                    {
                        await stderr.WriteLineAsync($"users: there is no user named '{p.Name}'.");
                        return 1;
                    }
                    await stderr.WriteLineAsync($"Password of '{p.Name}' changed; the user's sessions have ended.");
                    return 0;
                case List:
                    await stdout.WriteLineAsync($"{"NAME",-30} {"ROLE",-7} {"CREATED",-20} UPDATED");
                    foreach (var u in await Users.ListAsync(db, ct))
                        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                            $"{u.Name,-30} {UserRoles.NameOf(u.Role),-7} {u.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {u.UpdatedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z"));
                    return 0;
                default:
                    throw new ArgumentOutOfRangeException(nameof(command), command, null);
            }
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or Microsoft.EntityFrameworkCore.DbUpdateException
                                       or Microsoft.EntityFrameworkCore.Storage.RetryLimitExceededException or InvalidOperationException)
        {
            await stderr.WriteLineAsync($"users: {e.GetBaseException().Message.ReplaceLineEndings(" ")} (is the database reachable and migrated?)");
            return 1;
        }
    }

    /// <summary>One line from stdin; at a terminal, typed without echo.</summary>
    private static async Task<string?> ReadPasswordAsync(TextReader stdin, TextWriter stderr)
    {
        string? password;
        if (ReferenceEquals(stdin, Console.In) && !Console.IsInputRedirected)
        {
            await stderr.WriteAsync("Password: ");
            var typed = new StringBuilder();
            for (var key = Console.ReadKey(intercept: true); key.Key != ConsoleKey.Enter; key = Console.ReadKey(intercept: true))
            {
                if (key.Key == ConsoleKey.Backspace) { if (typed.Length > 0) typed.Length--; }
                else typed.Append(key.KeyChar);
            }
            await stderr.WriteLineAsync();
            password = typed.ToString();
        }
        else
        {
            password = await stdin.ReadLineAsync();
        }
        if (Users.IsValidPassword(password)) return password;
        await stderr.WriteLineAsync($"users: {Users.PasswordRule} (read from stdin, one line).");
        return null;
    }

    private static Command? Fail(out string error, string message)
    {
        error = "users: " + message;
        return null;
    }
}
