using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;

namespace Tasks.Core.Hosting;

public static class HostExtensions
{
    /// <summary>
    /// Listens on <c>http://0.0.0.0:{port}</c>, the port read from <paramref name="portSetting"/> (default
    /// <paramref name="defaultPort"/>), unless <c>Urls</c> / <c>ASPNETCORE_URLS</c> says otherwise. The web app
    /// uses <c>Web:Port</c>.
    /// </summary>
    public static WebApplicationBuilder UsePort(this WebApplicationBuilder builder, string portSetting, int defaultPort) =>
        builder.Listen(portSetting, defaultPort, urlsSetting: null, host: "0.0.0.0");

    /// <summary>
    /// Worker and scheduler serve only health and metrics: on <c>http://127.0.0.1:{Health:Port}</c>, so nothing
    /// off the machine reads them unless the operator says so with <c>Health:Urls</c> (e.g. <c>http://0.0.0.0:5081</c>,
    /// as Compose does for its health checks), or <c>Urls</c> / <c>ASPNETCORE_URLS</c>.
    /// </summary>
    public static WebApplicationBuilder UseHealthPort(this WebApplicationBuilder builder, int defaultPort) =>
        builder.Listen("Health:Port", defaultPort, urlsSetting: "Health:Urls", host: "127.0.0.1");

    private static WebApplicationBuilder Listen(this WebApplicationBuilder builder, string portSetting, int defaultPort, string? urlsSetting, string host)
    {
        if (!string.IsNullOrEmpty(builder.Configuration["Urls"])) return builder;
        if (urlsSetting is not null && builder.Configuration[urlsSetting] is { Length: > 0 } urls)
        {
            builder.WebHost.UseUrls(urls);
            return builder;
        }
        var port = builder.Configuration.GetValue(portSetting, defaultPort);
        builder.WebHost.UseUrls($"http://{host}:{port}");
        return builder;
    }
}
