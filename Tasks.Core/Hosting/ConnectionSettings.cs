using Microsoft.Extensions.Configuration;

namespace Tasks.Core.Hosting;

/// <summary>The two connection strings every host needs, read once, with a clear error when one is missing.</summary>
public static class ConnectionSettings
{
    public const string Postgres = "Tasks";
    public const string RabbitMq = "RabbitMq";

    public static string Require(IConfiguration configuration, string name) =>
        configuration.GetConnectionString(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"ConnectionStrings:{name} is not set (env ConnectionStrings__{name}). See README.md, Configuration.");
}
