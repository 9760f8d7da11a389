using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace Tasks.Core.Hosting;

public static class HostExtensions
{
    /// <summary>
    /// Worker and scheduler serve only health and metrics, on a small port of their own: <c>Health:Port</c>
    /// (env <c>Health__Port</c>), unless <c>Urls</c> is set explicitly.
    /// </summary>
    public static WebApplicationBuilder UseHealthPort(this WebApplicationBuilder builder, int defaultPort)
    {
        if (string.IsNullOrEmpty(builder.Configuration["Urls"]) && string.IsNullOrEmpty(builder.Configuration["ASPNETCORE_URLS"]))
        {
            var port = builder.Configuration.GetValue("Health:Port", defaultPort);
            builder.WebHost.UseUrls($"http://0.0.0.0:{port}");
        }
        return builder;
    }
}
