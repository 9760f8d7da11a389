using System.Diagnostics;
using System.Globalization;
using Npgsql;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// A throwaway PostgreSQL server of one test's own (the run's shared server can't be crashed under the other test
/// classes), from the machine's Debian binaries: <c>initdb</c> into a temp dir, listening on 127.0.0.1 on a free
/// port with its unix socket in that dir. <see cref="CrashAsync"/> is <c>pg_ctl stop -m immediate</c> (every
/// backend quits without a checkpoint: WAL recovery at the next start); <see cref="StartAsync"/> starts it again on
/// the same port and data. Durability: <c>fsync = off</c> unless asked for, commits still synchronous. A crash of the server process
/// (not of the machine) keeps every WAL write in the kernel's cache, so no acknowledged commit can be lost by it,
/// which is exactly the failure this server is for.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string ServiceUser = "postgres";
    private readonly string _bin;
    private readonly string _dir;
    private readonly bool _asServiceUser = Environment.UserName == "root";

    private PrivatePostgres(string bin, string dir, int port)
    {
        _bin = bin;
        _dir = dir;
        Port = port;
    }

    public int Port { get; }
    public bool Running { get; private set; }
    private string Data => Path.Combine(_dir, "data");
    private string Log => Path.Combine(_dir, "postgres.log");

    /// <summary>The connection string of database <paramref name="database"/> as the superuser (trust auth).</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = "postgres", Database = database,
    }.ConnectionString;

    /// <summary>A fresh server, initialised and started.</summary>
    public static async Task<PrivatePostgres> StartNewAsync(bool durable = false, int maxConnections = 100)
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")))
                .OrderBy(b => Version.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), out var v) ? v : new Version(0, 0))
                .LastOrDefault()
            : null;
        if (bin is null) throw new InvalidOperationException("No PostgreSQL binaries under /usr/lib/postgresql/*/bin (./dev test installs them)");

        // As root, under /tmp whatever TMPDIR says: the service user must traverse the path to it.
        var dir = Environment.UserName == "root"
            ? Directory.CreateDirectory(Path.Combine("/tmp", "tasks-private-pg." + Guid.NewGuid().ToString("N")[..12])).FullName
            : Directory.CreateTempSubdirectory("tasks-private-pg.").FullName;
        var server = new PrivatePostgres(bin, dir, HostProcess.FreePort());
        try
        {
            // Owned by the server's user alone (initdb wants its data's parent writable, the socket dir private).
            if (server._asServiceUser) await RunAsync("chown", [$"{ServiceUser}:", dir]);
            await RunAsync("chmod", ["700", dir]);
            await server.PgAsync("initdb", "-D", server.Data, "-U", "postgres", "-E", "UTF8", "--locale=C", "-A", "trust", "--no-sync");
            await File.AppendAllTextAsync(Path.Combine(server.Data, "postgresql.conf"), $"""

                port = {server.Port.ToString(CultureInfo.InvariantCulture)}
                listen_addresses = '127.0.0.1'
                unix_socket_directories = '{dir}'
                fsync = {(durable ? "on" : "off")}
                max_connections = {maxConnections.ToString(CultureInfo.InvariantCulture)}
                """);
            await server.StartAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server on its port and data, and waits until it accepts connections (after any WAL recovery).</summary>
    public async Task StartAsync()
    {
        try
        {
            await PgAsync("pg_ctl", "-D", Data, "-l", Log, "-w", "-t", "60", "-s", "start");
        }
        catch (InvalidOperationException e) when (File.Exists(Log))
        {
            throw new InvalidOperationException($"{e.Message}\n{await File.ReadAllTextAsync(Log)}", e);
        }
        Running = true;
    }

    /// <summary>A crash: <c>pg_ctl stop -m immediate</c>. Every connection is cut mid-stream; the next start replays the WAL.</summary>
    public async Task CrashAsync()
    {
        Running = false;
        await PgAsync("pg_ctl", "-D", Data, "-m", "immediate", "-w", "-t", "60", "-s", "stop");
    }

    /// <summary>A clean shutdown (<c>-m fast</c>).</summary>
    public async Task StopAsync()
    {
        Running = false;
        await PgAsync("pg_ctl", "-D", Data, "-m", "fast", "-w", "-t", "60", "-s", "stop");
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            if (File.Exists(Path.Combine(Data, "postmaster.pid"))) await StopAsync();
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private Task PgAsync(string tool, params string[] args) => _asServiceUser
        ? RunAsync("runuser", ["-u", ServiceUser, "--", Path.Combine(_bin, tool), .. args])
        : RunAsync(Path.Combine(_bin, tool), args);

    private static async Task RunAsync(string file, string[] args)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = "/",
        };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await stdout}{await stderr}");
    }
}
