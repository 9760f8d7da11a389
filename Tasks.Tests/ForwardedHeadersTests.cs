using System.Net;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// Behind a reverse proxy every request comes from the proxy's address, so the sign-in limit per address would
/// count everyone together. ASP.NET Core's <c>ASPNETCORE_FORWARDEDHEADERS_ENABLED=true</c> (docs/configuration.md)
/// makes the web host take the client's address from <c>X-Forwarded-For</c>: checked on a real web process.
/// </summary>
public sealed class ForwardedHeadersTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
{
    [Fact]
    public async Task With_forwarded_headers_on_the_sign_in_limit_counts_each_client_behind_the_proxy()
    {
        var env = stack.Environment();
        env["ASPNETCORE_FORWARDEDHEADERS_ENABLED"] = "true";
        env["Dashboard__SignInFailuresPerAddress"] = "2";
        await using var web = await HostProcess.StartAsync("Tasks.Web", env);

        Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync(web, "198.51.100.7", "nobody-1"));
        Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync(web, "198.51.100.7", "nobody-2"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await SignInAsync(web, "198.51.100.7", "nobody-3"));
        // Another client through the same proxy (the same TCP peer): its own count.
        Assert.Equal(HttpStatusCode.Unauthorized, await SignInAsync(web, "198.51.100.8", "nobody-4"));
        Assert.Contains("198.51.100.7", web.Output, StringComparison.Ordinal); // the limit's log line names the client
    }

    /// <summary>A failing sign-in as a browser behind a proxy posts it: the proxy's header names the client.</summary>
    private static Task<HttpStatusCode> SignInAsync(HostProcess web, string client, string name) =>
        SignInForm.PostAsync(web.Address, name, "wrong-password", forwardedFor: client);
}
