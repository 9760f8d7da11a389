using System.Net.Http.Headers;
using System.Text;
using Npgsql;
using Testcontainers.PostgreSql;
using Testcontainers.RabbitMq;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// The one RabbitMQ and one PostgreSQL server of a test run: from <c>TASKS_TEST_RABBITMQ</c> /
/// <c>TASKS_TEST_RABBITMQ_MANAGEMENT</c> / <c>TASKS_TEST_POSTGRES</c> (set by <c>./dev test</c>), else from
/// Testcontainers when a Docker engine answers. Each test class gets its own vhost and database from it.
/// </summary>
public sealed class Servers
{
    private static readonly Lazy<Task<Servers>> Shared = new(StartAsync);

    private Servers(string postgres, Uri rabbit, Uri management)
    {
        Postgres = postgres;
        Rabbit = rabbit;
        Management = management;
    }

    public string Postgres { get; }
    public Uri Rabbit { get; }
    public Uri Management { get; }

    public static Task<Servers> GetAsync() => Shared.Value;

    private static async Task<Servers> StartAsync()
    {
        var pg = Environment.GetEnvironmentVariable("TASKS_TEST_POSTGRES");
        var rabbit = Environment.GetEnvironmentVariable("TASKS_TEST_RABBITMQ");
        var management = Environment.GetEnvironmentVariable("TASKS_TEST_RABBITMQ_MANAGEMENT");
        if (!string.IsNullOrEmpty(pg) && !string.IsNullOrEmpty(rabbit) && !string.IsNullOrEmpty(management))
            return new Servers(pg, new Uri(rabbit), new Uri(management));

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

    /// <summary>A fresh, empty database and vhost for one test class.</summary>
    public async Task<(string Postgres, Uri Rabbit)> CreateIsolatedAsync(string name)
    {
        await using (var conn = new NpgsqlConnection(Postgres))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        using var http = ManagementClient();
        (await http.PutAsync($"api/vhosts/{name}", null)).EnsureSuccessStatusCode();
        var user = Rabbit.UserInfo.Split(':')[0];
        (await http.PutAsync($"api/permissions/{name}/{user}",
            new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();

        var pg = new NpgsqlConnectionStringBuilder(Postgres) { Database = name, Pooling = true }.ConnectionString;
        return (pg, new UriBuilder(Rabbit) { Path = "/" + name }.Uri);
    }

    public async Task DropIsolatedAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        await using (var conn = new NpgsqlConnection(Postgres))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        using var http = ManagementClient();
        await http.DeleteAsync($"api/vhosts/{name}");
    }

    public HttpClient ManagementClient()
    {
        var http = new HttpClient { BaseAddress = new Uri(Management.GetLeftPart(UriPartial.Authority) + "/") };
        var userInfo = string.IsNullOrEmpty(Management.UserInfo) ? Rabbit.UserInfo : Management.UserInfo;
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.UnescapeDataString(userInfo))));
        return http;
    }
}
