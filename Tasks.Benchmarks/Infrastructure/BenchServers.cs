using System.Net.Http.Headers;
using System.Text;
using Npgsql;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>
/// The RabbitMQ and PostgreSQL the benchmark runs against, from the same variables the tests read
/// (<c>TASKS_TEST_POSTGRES</c>, <c>TASKS_TEST_RABBITMQ</c>, <c>TASKS_TEST_RABBITMQ_MANAGEMENT</c>, as printed by
/// <c>./dev servers</c>). Each scenario gets its own database and vhost, dropped afterwards.
/// </summary>
public sealed class BenchServers
{
    private BenchServers(string postgres, Uri rabbit, Uri management)
    {
        Postgres = postgres;
        Rabbit = rabbit;
        Management = management;
    }

    public string Postgres { get; }
    public Uri Rabbit { get; }
    public Uri Management { get; }

    public static BenchServers FromEnvironment()
    {
        var pg = Environment.GetEnvironmentVariable("TASKS_TEST_POSTGRES");
        var rabbit = Environment.GetEnvironmentVariable("TASKS_TEST_RABBITMQ");
        var management = Environment.GetEnvironmentVariable("TASKS_TEST_RABBITMQ_MANAGEMENT");
        if (string.IsNullOrEmpty(pg) || string.IsNullOrEmpty(rabbit) || string.IsNullOrEmpty(management))
            throw new InvalidOperationException(
                "The benchmark needs RabbitMQ and PostgreSQL: run it with ./dev bench, or start ./dev servers and export " +
                "TASKS_TEST_POSTGRES, TASKS_TEST_RABBITMQ and TASKS_TEST_RABBITMQ_MANAGEMENT.");
        return new BenchServers(pg, new Uri(rabbit), new Uri(management));
    }

    /// <summary>A fresh database and vhost named <paramref name="name"/>.</summary>
    public async Task<Isolated> CreateIsolatedAsync(string name)
    {
        await DropIsolatedAsync(name);
        await using (var conn = new NpgsqlConnection(Postgres))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        using var http = ManagementClient();
        (await http.PutAsync(new Uri($"api/vhosts/{name}", UriKind.Relative), null)).EnsureSuccessStatusCode();
        var user = Rabbit.UserInfo.Split(':')[0];
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await http.PutAsync(new Uri($"api/permissions/{name}/{user}", UriKind.Relative), permissions)).EnsureSuccessStatusCode();

        var pg = new NpgsqlConnectionStringBuilder(Postgres) { Database = name, Pooling = true, MaxPoolSize = 100 }.ConnectionString;
        return new Isolated(name, pg, new UriBuilder(Rabbit) { Path = "/" + name }.Uri);
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
        await http.DeleteAsync(new Uri($"api/vhosts/{name}", UriKind.Relative));
    }

    /// <summary>The server's version strings, for the report.</summary>
    public async Task<(string Postgres, string RabbitMq)> VersionsAsync()
    {
        string pg;
        await using (var conn = new NpgsqlConnection(Postgres))
        {
            await conn.OpenAsync();
            pg = conn.PostgreSqlVersion.ToString();
        }
        var rabbit = "unknown";
        try
        {
            using var http = ManagementClient();
            using var doc = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri("api/overview", UriKind.Relative)));
            rabbit = doc.RootElement.GetProperty("rabbitmq_version").GetString() ?? rabbit;
        }
        catch (HttpRequestException)
        {
        }
        return (pg, rabbit);
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

/// <summary>One scenario's database and vhost.</summary>
public sealed record Isolated(string Name, string Postgres, Uri Rabbit);
