using System.CommandLine;
using System.Text.Json;

namespace Tasks.Cli.Commands;

/// <summary><c>tasksctl keys create|list|revoke</c>: the admin-scope <c>/api/v1/keys</c> endpoints (Tasks.Web/Apis/KeysApi.cs).</summary>
public static class KeysCommand
{
    public static Command Create() => new("keys", """
        Manage API keys (needs an admin key).
        Example: tasksctl keys create reports-bot --scope enqueue
        """) { CreateKey(), ListKeys(), RevokeKey() };

    private static Command CreateKey()
    {
        var name = new Argument<string>("NAME") { Description = "The key's name (never reused, even once revoked)" };
        var scope = new Option<string>("--scope") { Description = "What the key may do", Required = true };
        scope.AcceptOnlyFromAmong("read", "enqueue", "admin");
        var command = new Command("create", """
            Create a key and print it: it is shown this once, and only its hash is stored.
            Example: tasksctl keys create reports-bot --scope enqueue
            """) { name, scope };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var json = await session.Api.PostAsync("keys", new { name = parse.GetValue(name), scope = parse.GetValue(scope) }, ct);
            if (session.Output.Json)
            {
                session.Output.WriteJson(json);
                return ExitCodes.Ok;
            }
            // The key alone on stdout, so a script can take it.
            session.Output.Line(json.GetProperty("key").GetString()!);
            Output.Note($"Key '{json.GetProperty("name").GetString()}' ({json.GetProperty("scope").GetString()}) created. It is shown only this once.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command ListKeys()
    {
        var command = new Command("list", """
            List keys (names, scopes, when created and revoked; never a key).
            Example: tasksctl keys list --json
            """);
        Session.SetAction(command, async (_, session, ct) =>
        {
            var json = await session.Api.GetAsync("keys", ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else session.Output.Table(["NAME", "SCOPE", "CREATED", "REVOKED"], json.GetProperty("items").EnumerateArray().Select(k =>
                (IReadOnlyList<string>)[k.GetProperty("name").GetString()!, k.GetProperty("scope").GetString()!,
                    Output.Time(k.GetProperty("createdAt").GetDateTimeOffset()),
                    k.GetProperty("revokedAt") is { ValueKind: JsonValueKind.String } r ? Output.Time(r.GetDateTimeOffset()) : "-"]));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command RevokeKey()
    {
        var name = new Argument<string>("NAME") { Description = "The key's name" };
        var command = new Command("revoke", """
            Revoke a key: hosts refuse it within Auth:KeyCacheSeconds.
            Example: tasksctl keys revoke reports-bot
            """) { name };
        Session.SetAction(command, async (parse, session, ct) =>
        {
            var json = await session.Api.PostAsync($"keys/{Uri.EscapeDataString(parse.GetValue(name)!)}/revoke", null, ct);
            if (session.Output.Json) session.Output.WriteJson(json);
            else Output.Note($"Key '{parse.GetValue(name)}' revoked.");
            return ExitCodes.Ok;
        });
        return command;
    }
}
