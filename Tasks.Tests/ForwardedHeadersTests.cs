using System.Net;
using System.Text.RegularExpressions;
using Tasks.Tests.Infrastructure;

namespace Tasks.Tests;

/// <summary>
/// Behind a reverse proxy every request comes from the proxy's address, so the sign-in limit per address would
/// count everyone together. ASP.NET Core's <c>ASPNETCORE_FORWARDEDHEADERS_ENABLED=true</c> (docs/configuration.md)
/// makes the web host take the client's address from <c>X-Forwarded-For</c>: checked on a real web process.
/// </summary>
public sealed partial class ForwardedHeadersTests(HostsOnlyStack stack) : IClassFixture<HostsOnlyStack>
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

    /// <summary>A failing sign-in as a browser behind a proxy posts it: the form's token, and the proxy's header.</summary>
    private static async Task<HttpStatusCode> SignInAsync(HostProcess web, string client, string name)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = web.Address };
        http.DefaultRequestHeaders.Add("X-Forwarded-For", client);
        var form = await http.GetStringAsync("/login");
        using var response = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = name, ["password"] = "wrong-password", ["__RequestVerificationToken"] = WebUtility.HtmlDecode(AntiforgeryToken().Match(form).Groups[1].Value),
        }));
        return response.StatusCode;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}
