using System.Net;
using System.Text.RegularExpressions;

namespace Tasks.Tests.Infrastructure;

/// <summary>The dashboard's sign-in form, posted as a browser posts it: the form's anti-forgery token and cookie, no redirect followed.</summary>
public static partial class SignInForm
{
    public static async Task<HttpStatusCode> PostAsync(Uri web, string name, string password, string? forwardedFor = null)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = web };
        if (forwardedFor is not null) http.DefaultRequestHeaders.Add("X-Forwarded-For", forwardedFor);
        var form = await http.GetStringAsync("/login");
        using var response = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["username"] = name, ["password"] = password,
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(Token().Match(form).Groups[1].Value),
        }));
        return response.StatusCode;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex Token();
}
