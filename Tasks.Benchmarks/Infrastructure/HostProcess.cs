using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>
/// One of our hosts (Tasks.Web, Tasks.Worker) run as its own process from its Release build, the way it runs in
/// production: <c>dotnet Tasks.Worker.dll</c> with its settings in environment variables.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;

    private HostProcess(string name, Process process, int port, string logFile)
    {
        Name = name;
        _process = process;
        Port = port;
        LogFile = logFile;
    }

    public string Name { get; }
    public int Port { get; }
    public int Pid => _process.Id;
    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    /// <summary>
    /// Where the host's console output goes. A file, as journald or a container runtime would take it: a pipe
    /// drained by this (busy) process would block the host's console logging and slow it down.
    /// </summary>
    public string LogFile { get; }

    /// <summary>The repository root: where Tasks.sln is, found upwards from this program.</summary>
    public static string RepoRoot { get; } = FindRoot();

    public static string DllPath(string project) =>
        Path.Combine(RepoRoot, project, "bin", "Release", "net10.0", project + ".dll");

    public static HostProcess Start(string project, int port, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var logFile = Path.Combine(Path.GetTempPath(), $"bench-{project}-{port}.log");
        var info = Info(project, env, args);
        info.RedirectStandardOutput = info.RedirectStandardError = false;
        // exec: the shell becomes the host process, so the pid (memory, kill) is the host's own.
        var command = "exec \"$0\" \"$@\" >" + ShellQuote(logFile) + " 2>&1";
        var shell = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = info.WorkingDirectory };
        shell.ArgumentList.Add("-c");
        shell.ArgumentList.Add(command);
        shell.ArgumentList.Add(info.FileName);
        foreach (var a in info.ArgumentList) shell.ArgumentList.Add(a);
        foreach (var (k, v) in info.Environment) shell.Environment[k] = v;
        var process = new Process { StartInfo = shell };
        process.Start();
        return new HostProcess(project, process, port, logFile);
    }

    /// <summary>Runs <c>dotnet Project.dll args</c> to the end; throws with its output when it fails.</summary>
    public static async Task RunToEndAsync(string project, IReadOnlyDictionary<string, string> env, params string[] args)
    {
        using var process = new Process { StartInfo = Info(project, env, args) };
        process.Start();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{project} {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }

    private static ProcessStartInfo Info(string project, IReadOnlyDictionary<string, string> env, string[] args)
    {
        var dll = DllPath(project);
        if (!File.Exists(dll))
            throw new FileNotFoundException($"{dll} is missing: build the solution in Release first (dotnet build Tasks.sln -c Release).");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Colors"] = "false";
        info.Environment.Remove("ASPNETCORE_URLS"); // inherited, it would outrank the port each host is given
        foreach (var (k, v) in env) info.Environment[k] = v;
        return info;
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200.</summary>
    public async Task WaitReadyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with {_process.ExitCode}:\n{Tail()}");
            try
            {
                using var response = await http.GetAsync(new Uri("health/ready", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{Name} was not ready within {timeout}:\n{Tail()}");
    }

    /// <summary>Resident set size in MB, from /proc.</summary>
    public double ResidentMegabytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException)
        {
        }
        return double.NaN;
    }

    public string Tail()
    {
        try
        {
            return string.Join('\n', File.ReadLines(LogFile).TakeLast(40));
        }
        catch (IOException)
        {
            return "(no output)";
        }
    }

    private static string ShellQuote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            File.Delete(LogFile);
        }
        catch (IOException)
        {
        }
    }

    private static string FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Tasks.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Tasks.sln not found above the current directory or the program.");
    }
}
