using System.Net.Http.Headers;
using System.Text;
using Npgsql;

namespace Tasks.Testing;

/// <summary>
/// The one RabbitMQ and one PostgreSQL server of a test or benchmark run: from <c>TASKS_TEST_RABBITMQ</c> /
/// <c>TASKS_TEST_RABBITMQ_MANAGEMENT</c> / <c>TASKS_TEST_POSTGRES</c>, as <c>./dev test</c>, <c>./dev bench</c> and
/// <c>./dev servers</c> set them. Each test class or scenario gets its own database and vhost on them.
/// </summary>
public sealed partial class Servers(string postgres, Uri rabbit, Uri management)
{
    public string Postgres { get; } = postgres;
    public Uri Rabbit { get; } = rabbit;
    public Uri Management { get; } = management;

    /// <summary>The servers the environment names, or null when it names none.</summary>
    public static Servers? FromEnvironment()
    {
        var pg = Environment.GetEnvironmentVariable("TASKS_TEST_POSTGRES");
        var rabbit = Environment.GetEnvironmentVariable("TASKS_TEST_RABBITMQ");
        var management = Environment.GetEnvironmentVariable("TASKS_TEST_RABBITMQ_MANAGEMENT");
        return string.IsNullOrEmpty(pg) || string.IsNullOrEmpty(rabbit) || string.IsNullOrEmpty(management)
            ? null
            : new Servers(pg, new Uri(rabbit), new Uri(management));
    }

    /// <summary>A fresh, empty database and vhost named <paramref name="name"/> (an earlier run's are dropped).</summary>
    public async Task<Isolated> CreateIsolatedAsync(string name)
    {
        using var http = ManagementClient();
        await DropAsync(name, http);
        await using (var conn = new NpgsqlConnection(Postgres))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        (await http.PutAsync(new Uri($"api/vhosts/{name}", UriKind.Relative), null)).EnsureSuccessStatusCode();
        var user = Rabbit.UserInfo.Split(':')[0];
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await http.PutAsync(new Uri($"api/permissions/{name}/{user}", UriKind.Relative), permissions)).EnsureSuccessStatusCode();

        var pg = new NpgsqlConnectionStringBuilder(Postgres) { Database = name, Pooling = true }.ConnectionString;
        return new Isolated(name, pg, new UriBuilder(Rabbit) { Path = "/" + name }.Uri);
    }

    public async Task DropIsolatedAsync(string name)
    {
        NpgsqlConnection.ClearAllPools(); // this process's idle connections to it; others are ended by FORCE
        using var http = ManagementClient();
        await DropAsync(name, http);
    }

    private async Task DropAsync(string name, HttpClient management)
    {
        await using (var conn = new NpgsqlConnection(Postgres))
        {
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        await management.DeleteAsync(new Uri($"api/vhosts/{name}", UriKind.Relative));
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

/// <summary>One test class's or scenario's database and vhost.</summary>
public sealed record Isolated(string Name, string Postgres, Uri Rabbit);
