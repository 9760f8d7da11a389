using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Formatting.Compact;
using Serilog.Templates;
using Serilog.Templates.Themes;

namespace Tasks.Core.Hosting;

public static class LoggingExtensions
{
    /// <summary>
    /// Serilog to the console for a Tasks host; only a host's Program.cs calls this (library code logs through
    /// <c>ILogger&lt;T&gt;</c> and never touches the global logger). <c>Logging:Format</c> = <c>text</c> (default) or
    /// <c>json</c> (compact JSON, one event per line); <c>Logging:Colors</c> = <c>auto</c> (only on a terminal),
    /// <c>true</c> or <c>false</c>; levels from <c>Serilog:MinimumLevel</c> (with per-namespace <c>Override</c>).
    /// </summary>
    public static IHostApplicationBuilder AddTasksLogging(this IHostApplicationBuilder builder)
    {
        var config = builder.Configuration;
        builder.Services.AddSerilog((services, logger) =>
        {
            // What an operator reads at Information is what happened to tasks, schedules and hosts: framework chatter
            // (a request/response pair per HTTP client call, per backlog poll) starts at Warning. Configuration
            // (Serilog:MinimumLevel:Override:<namespace>) overrides each of these.
            logger.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("System", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("Npgsql", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Hosting.Lifetime", Serilog.Events.LogEventLevel.Information)
                .MinimumLevel.Override("MassTransit", Serilog.Events.LogEventLevel.Information)
                .ReadFrom.Configuration(config)
                .Enrich.FromLogContext()
                .Enrich.WithProperty("Service", builder.Environment.ApplicationName);

            if (string.Equals(config["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase))
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
                return;
            }
            var colors = config["Logging:Colors"]?.ToLowerInvariant() switch
            {
                "true" => true,
                "false" => false,
                _ => !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("NO_COLOR") is null,
            };
            // Inside a task, the line ends with the task it belongs to and its trace, so plain text can be grepped too.
            logger.WriteTo.Console(new ExpressionTemplate(
                "[{@t:HH:mm:ss.fff} {@l:u3}] {SourceContext}: {@m}" +
                "{#if TaskId is not null} [task {TaskId} {TaskName} #{Attempt} on {Queue}]{#end}" +
                "{#if @tr is not null} trace={@tr}{#end}\n{@x}",
                formatProvider: System.Globalization.CultureInfo.InvariantCulture,
                theme: colors ? TemplateTheme.Code : null,
                applyThemeWhenOutputIsRedirected: colors));
        });
        return builder;
    }
}
