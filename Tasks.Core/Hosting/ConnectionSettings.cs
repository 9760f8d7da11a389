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

/// <summary>The broker's address for RabbitMQ.Client (<c>amqp://</c>; MassTransit's <c>rabbitmq://</c> form is accepted too).</summary>
public sealed record RabbitSettings(Uri Uri)
{
    public Uri AmqpUri { get; } = Uri.Scheme switch
    {
        "rabbitmq" => new UriBuilder(Uri) { Scheme = "amqp", Port = Uri.IsDefaultPort ? 5672 : Uri.Port }.Uri,
        "rabbitmqs" => new UriBuilder(Uri) { Scheme = "amqps", Port = Uri.IsDefaultPort ? 5671 : Uri.Port }.Uri,
        _ => Uri,
    };
}
