using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace Tasks.Testing;

/// <summary>The test run's servers: the environment's (<see cref="Servers.FromEnvironment"/>), else Testcontainers' when a Docker engine answers.</summary>
public sealed partial class Servers
{
    private static readonly Lazy<Task<Servers>> Shared = new(StartAsync);

    public static Task<Servers> GetAsync() => Shared.Value;

    private static async Task<Servers> StartAsync()
    {
        if (FromEnvironment() is { } servers) return servers;
        try
        {
            var postgres = new PostgreSqlBuilder("postgres:15-alpine").Build();
            var broker = new RabbitMqBuilder("rabbitmq:3.13-management-alpine").WithPortBinding(15672, true).Build();
            await Task.WhenAll(postgres.StartAsync(), broker.StartAsync());
            var amqp = new UriBuilder(broker.GetConnectionString()) { Path = "/" }.Uri;
            var mgmt = new Uri($"http://{amqp.UserInfo}@{broker.Hostname}:{broker.GetMappedPublicPort(15672)}/");
            return new Servers(postgres.GetConnectionString(), amqp, mgmt);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException(
                "Integration tests need RabbitMQ and PostgreSQL: run them with ./dev test (it starts throwaway servers), " +
                "or set TASKS_TEST_RABBITMQ, TASKS_TEST_RABBITMQ_MANAGEMENT and TASKS_TEST_POSTGRES, or start a Docker engine. " +
                $"({e.GetType().Name}: {e.Message})", e);
        }
    }
}
