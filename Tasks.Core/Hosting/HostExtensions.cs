using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace Tasks.Core.Hosting;

public static class HostExtensions
{
    /// <summary>
    /// Listens on <c>http://0.0.0.0:{port}</c>, the port read from <paramref name="portSetting"/> (default
    /// <paramref name="defaultPort"/>), unless <c>Urls</c> / <c>ASPNETCORE_URLS</c> says otherwise. The web app
    /// uses <c>Web:Port</c>; worker and scheduler serve only health and metrics, on <c>Health:Port</c>.
    /// </summary>
    public static WebApplicationBuilder UsePort(this WebApplicationBuilder builder, string portSetting, int defaultPort)
    {
        if (string.IsNullOrEmpty(builder.Configuration["Urls"]))
        {
            var port = builder.Configuration.GetValue(portSetting, defaultPort);
            builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
        }
        return builder;
    }
}
