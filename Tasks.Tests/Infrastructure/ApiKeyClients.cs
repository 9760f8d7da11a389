using System.Diagnostics;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Tasks.Core.Auth;
using Tasks.Core.Data;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// Callers of a stack's API other than its bootstrap (<c>admin</c>) key, <see cref="TasksStack.Http"/>: a fresh key of
/// a given scope, stored as <c>keys create</c> stores it, or no key at all.
/// </summary>
public static class ApiKeyClients
{
    /// <summary>A client sending a new key of <paramref name="scope"/>; the key is its <c>Authorization</c> header.</summary>
    public static async Task<HttpClient> ClientWithKeyAsync(this TasksStack stack, ApiKeyScope scope)
    {
        await using var services = stack.Web.Services.CreateAsyncScope();
        var name = $"{ApiKeyScopes.NameOf(scope)}-{Guid.NewGuid():N}";
        var key = await ApiKeys.CreateAsync(services.ServiceProvider.GetRequiredService<TasksDbContext>(), name, scope, TimeProvider.System, CancellationToken.None);
        return stack.ClientWithKey(key!);
    }

    public static HttpClient ClientWithKey(this TasksStack stack, string key)
    {
        var http = new HttpClient { BaseAddress = stack.WebAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    public static HttpClient AnonymousClient(this TasksStack stack) => new() { BaseAddress = stack.WebAddress };
}

/// <summary>A command of the built <c>Tasks.Web.dll</c> (<c>keys ...</c>, <c>migrate</c>) run to its end against a stack's database.</summary>
public static class WebCommand
{
    public sealed record Outcome(int ExitCode, string StandardOutput, string StandardError);

    public static Task<Outcome> RunAsync(TasksStack stack, params string[] args) => RunWithInputAsync(stack, null, null, args);

    /// <summary>The same, with <paramref name="stdin"/> written to its standard input and more environment variables.</summary>
    public static async Task<Outcome> RunWithInputAsync(TasksStack stack, string? stdin, Dictionary<string, string>? environment, params string[] args)
    {
        var dll = Path.Combine(HostProcess.RepositoryRoot(), "Tasks.Web", "bin", HostProcess.Configuration, "net10.0", "Tasks.Web.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["ConnectionStrings__Tasks"] = stack.Postgres;
        info.Environment["ConnectionStrings__RabbitMq"] = stack.Rabbit.ToString();
        foreach (var (name, value) in environment ?? []) info.Environment[name] = value;
        using var process = Process.Start(info)!;
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return new Outcome(process.ExitCode, await stdout, await stderr);
    }
}
