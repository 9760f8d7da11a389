using System.Diagnostics;
using System.Globalization;

namespace Tasks.Testing;

/// <summary>
/// One of our hosts (Tasks.Web, Tasks.Worker, Tasks.Scheduler) run as its own OS process from its build, as operators
/// run it: <c>dotnet Tasks.Worker.dll</c> with its settings in environment variables, for tests that kill or signal
/// it and for the benchmark. Its console goes to a file, as journald or a container runtime would take it: a pipe
/// drained by a busy test or benchmark would block the host's logging and slow it down.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly Process _process;
    private string? _finalOutput;

    private HostProcess(string name, Process process, int port, string logFile)
    {
        Name = name;
        _process = process;
        Port = port;
        LogFile = logFile;
    }

    public string Name { get; }
    public int Port { get; }
    public Uri Address => new($"http://127.0.0.1:{Port}/");
    public int Pid => _process.Id;
    public int ExitCode => _process.ExitCode;

    /// <summary>Where the host's stdout and stderr go, until it is disposed.</summary>
    public string LogFile { get; }

    /// <summary>All the host has written so far (kept after <see cref="DisposeAsync"/>).</summary>
    public string Output => _finalOutput ?? ReadLog();

    /// <summary>Starts <paramref name="project"/> on a free port (<c>ASPNETCORE_URLS</c>) and waits until it is ready.</summary>
    public static Task<HostProcess> StartAsync(string project, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        StartAsync(project, environment, waitReady: true, args);

    public static Task<HostProcess> StartAsync(string project, IReadOnlyDictionary<string, string> environment, bool waitReady, params string[] args) =>
        StartAsync(Launch(project, Ports.Free(), environment, args, setUrls: true, inBuildDirectory: false), waitReady);

    /// <summary>
    /// A worker or scheduler listening where its own settings put it (<c>Health:Port</c>, <c>Health:Urls</c>), not on
    /// <c>ASPNETCORE_URLS</c>; <paramref name="port"/> is where it answers on 127.0.0.1.
    /// </summary>
    public static Task<HostProcess> StartOnOwnUrlsAsync(string project, IReadOnlyDictionary<string, string> environment, int port, params string[] args) =>
        StartAsync(Launch(project, port, environment, args, setUrls: false, inBuildDirectory: false), waitReady: true);

    /// <summary>
    /// As deployed: from its build directory (its appsettings.json applies), listening where
    /// <paramref name="environment"/> puts it, answering on <paramref name="port"/>; not waited for.
    /// </summary>
    public static HostProcess Start(string project, int port, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        Launch(project, port, environment, args, setUrls: false, inBuildDirectory: true);

    private static async Task<HostProcess> StartAsync(HostProcess host, bool waitReady)
    {
        try
        {
            if (waitReady) await host.WaitReadyAsync();
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <c>dotnet Project.dll args</c> to the end; throws with its output when it fails.</summary>
    public static async Task RunToEndAsync(string project, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(DllPath(project))!,
        };
        info.ArgumentList.Add(DllPath(project));
        foreach (var a in args) info.ArgumentList.Add(a);
        SetEnvironment(info, environment);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{project} {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }

    private static HostProcess Launch(string project, int port, IReadOnlyDictionary<string, string> environment, string[] args, bool setUrls, bool inBuildDirectory)
    {
        var dll = DllPath(project);
        var logFile = Path.Combine(Path.GetTempPath(), $"tasks-{project}-{port}-{Guid.NewGuid().ToString("N")[..8]}.log");
        // exec: the shell becomes the host, so the pid (memory, signals, exit code) is the host's own.
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        if (inBuildDirectory) info.WorkingDirectory = Path.GetDirectoryName(dll)!;
        foreach (var a in (string[])["-c", "exec \"$0\" \"$@\" >" + ShellQuote(logFile) + " 2>&1", "dotnet", dll, .. args])
            info.ArgumentList.Add(a);
        SetEnvironment(info, environment);
        if (setUrls) info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        var process = new Process { StartInfo = info };
        process.Start();
        return new HostProcess(project, process, port, logFile);
    }

    private static void SetEnvironment(ProcessStartInfo info, IReadOnlyDictionary<string, string> environment)
    {
        info.Environment["DOTNET_ENVIRONMENT"] = "Production";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Colors"] = "false";
        info.Environment.Remove("ASPNETCORE_URLS"); // inherited, it would outrank the port each host is given
        foreach (var (k, v) in environment) info.Environment[k] = v;
    }

    /// <summary>Waits until <c>/health/ready</c> answers 200 (60 s unless told); throws with the host's output if not.</summary>
    public async Task WaitReadyAsync(TimeSpan? timeout = null)
    {
        try
        {
            await Readiness.WaitAsync(Address, timeout ?? ReadyTimeout, () => _process.HasExited ? $"exited with code {_process.ExitCode}" : null);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            throw new InvalidOperationException($"{Name} on port {Port}: {e.Message}:\n{Output}", e);
        }
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    public async Task TerminateAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    /// <summary>Resident set size in MB, from /proc.</summary>
    public double ResidentMegabytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return double.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024;
        }
        catch (IOException) { }
        return double.NaN;
    }

    /// <summary>The last 40 lines the host wrote.</summary>
    public string Tail() => string.Join('\n', Output.Split('\n').TakeLast(40));

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        _finalOutput ??= ReadLog();
        File.Delete(LogFile);
    }

    private string ReadLog()
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (FileNotFoundException)
        {
            return "";
        }
    }

    private static string ShellQuote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public static string DllPath(string project)
    {
        var dll = Path.Combine(RepositoryRoot(), project, "bin", Configuration, "net10.0", project + ".dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"{dll} is not built: dotnet build Tasks.sln -c {Configuration}", dll);
    }

    /// <summary>Where Tasks.sln is, found upwards from this program or the current directory.</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Tasks.sln"))) return dir.FullName;
        throw new InvalidOperationException("Tasks.sln not found above " + AppContext.BaseDirectory);
    }

    public static int FreePort() => Ports.Free();

#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif
}
