using System.Globalization;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Web.Auth;

/// <summary>
/// <c>dotnet Tasks.Web.dll keys create NAME --scope read|enqueue|admin</c> (prints the new key, once), <c>keys list</c>
/// and <c>keys revoke NAME</c>: API key management until the CLI exists. Only the key's hash is stored. Bad
/// arguments or a failure: one line on stderr and a non-zero exit code (2 for usage, 1 otherwise).
/// </summary>
public static class KeyCommands
{
    public const string Usage = "usage: keys create NAME --scope read|enqueue|admin | keys list | keys revoke NAME";

    public abstract record Command;
    public sealed record Create(string Name, ApiKeyScope Scope) : Command;
    public sealed record List : Command;
    public sealed record Revoke(string Name) : Command;

    /// <summary>Reads the arguments after <c>keys</c>; null with <paramref name="error"/> when they don't make a command.</summary>
    public static Command? Parse(IReadOnlyList<string> args, out string error)
    {
        error = "";
        string? scope = null;
        var positional = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--scope")
            {
                if (i + 1 >= args.Count) return Fail(out error, "--scope needs a value: read, enqueue or admin.");
                scope = args[++i];
            }
            else if (args[i].StartsWith("--scope=", StringComparison.Ordinal)) scope = args[i]["--scope=".Length..];
            else if (args[i].StartsWith('-')) return Fail(out error, $"unknown option '{args[i]}'. {Usage}");
            else positional.Add(args[i]);
        }
        switch (positional)
        {
            case ["create", var name]:
                if (!ApiKeys.IsValidName(name)) return Fail(out error, $"'{name}' is not a key name: {ApiKeys.NameRule}.");
                if (scope is null) return Fail(out error, "keys create needs --scope read, enqueue or admin.");
                if (!ApiKeyScopes.TryParse(scope, out var s)) return Fail(out error, $"unknown scope '{scope}': read, enqueue or admin.");
                return new Create(name, s);
            case ["list"] when scope is null:
                return new List();
            case ["revoke", var name] when scope is null:
                return new Revoke(name);
            default:
                return Fail(out error, Usage);
        }
    }

    public static async Task<int> RunAsync(IServiceProvider services, Command command, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TasksDbContext>();
        var clock = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        try
        {
            switch (command)
            {
                case Create c:
                    if (await ApiKeys.CreateAsync(db, c.Name, c.Scope, clock, ct) is not { } key)
                    {
                        await stderr.WriteLineAsync($"keys: a key named '{c.Name}' exists already (names are never reused, even revoked ones).");
                        return 1;
                    }
                    // The key alone on stdout, so a script can take it; it is not stored and can't be shown again.
                    await stdout.WriteLineAsync(key);
                    await stderr.WriteLineAsync($"Key '{c.Name}' ({ApiKeyScopes.NameOf(c.Scope)}) created. It is shown only this once.");
                    return 0;
                case List:
                    var keys = await ApiKeys.ListAsync(db, ct);
                    await stdout.WriteLineAsync($"{"NAME",-30} {"SCOPE",-8} {"CREATED",-20} REVOKED");
                    foreach (var k in keys)
                        await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                            $"{k.Name,-30} {ApiKeyScopes.NameOf(k.Scope),-8} {k.CreatedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z {(k.RevokedAt is { } r ? r.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "-")}"));
                    return 0;
                case Revoke r:
                    if (!await ApiKeys.RevokeAsync(db, r.Name, clock, ct))
                    {
                        await stderr.WriteLineAsync($"keys: there is no key named '{r.Name}'.");
                        return 1;
                    }
                    await stderr.WriteLineAsync($"Key '{r.Name}' revoked (hosts that saw it in the last few seconds refuse it within Auth:KeyCacheSeconds).");
                    return 0;
                default:
                    throw new ArgumentOutOfRangeException(nameof(command), command, null);
            }
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or Microsoft.EntityFrameworkCore.DbUpdateException
                                       or Microsoft.EntityFrameworkCore.Storage.RetryLimitExceededException or InvalidOperationException)
        {
            await stderr.WriteLineAsync($"keys: {e.GetBaseException().Message.ReplaceLineEndings(" ")} (is the database reachable and migrated?)");
            return 1;
        }
    }

    private static Command? Fail(out string error, string message)
    {
        error = "keys: " + message;
        return null;
    }
}
