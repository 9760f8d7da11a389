using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tasks.Tests.Infrastructure;

/// <summary>A Tasks host run as its own OS process (as operators run it), for tests that kill or signal it.</summary>
public sealed class HostProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private HostProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }
    public Uri Address => new($"http://127.0.0.1:{Port}/");
    public int Pid => _process.Id;
    public string Output { get { lock (_output) return _output.ToString(); } }

    public static Task<HostProcess> StartAsync(string project, IReadOnlyDictionary<string, string> environment, params string[] args) =>
        StartAsync(project, environment, waitReady: true, args);

    public static Task<HostProcess> StartAsync(string project, IReadOnlyDictionary<string, string> environment, bool waitReady, params string[] args) =>
        StartAsync(project, environment, FreePort(), setUrls: true, waitReady, args);

    /// <summary>
    /// A worker or scheduler listening where its own settings put it (<c>Health:Port</c>, <c>Health:Urls</c>), not on
    /// <c>ASPNETCORE_URLS</c>; <paramref name="port"/> is where it answers on 127.0.0.1.
    /// </summary>
    public static Task<HostProcess> StartOnOwnUrlsAsync(string project, IReadOnlyDictionary<string, string> environment, int port, params string[] args) =>
        StartAsync(project, environment, port, setUrls: false, waitReady: true, args);

    private static async Task<HostProcess> StartAsync(string project, IReadOnlyDictionary<string, string> environment, int port, bool setUrls, bool waitReady, string[] args)
    {
        var dll = Path.Combine(RepositoryRoot(), project, "bin", Configuration, "net10.0", project + ".dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        if (setUrls) info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        else info.Environment.Remove("ASPNETCORE_URLS");
        var host = new HostProcess(new Process { StartInfo = info }, port);
        host._process.OutputDataReceived += (_, e) => host.Append(e.Data);
        host._process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        host._process.Start();
        host._process.BeginOutputReadLine();
        host._process.BeginErrorReadLine();
        if (waitReady) await host.WaitReadyAsync();
        return host;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public async Task WaitReadyAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Port}/"), Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(_process.HasExited, $"host exited early:\n{Output}");
            try
            {
                using var response = await http.GetAsync("health/ready");
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        Assert.Fail($"host not ready in 60 s:\n{Output}");
    }

    public void Kill() => _process.Kill(entireProcessTree: true);

    public async Task TerminateAsync()
    {
        using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    public Task WaitForExitAsync(TimeSpan timeout) => _process.WaitForExitAsync().WaitAsync(timeout);

    public int ExitCode => _process.ExitCode;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Tasks.sln"))) return dir.FullName;
        throw new InvalidOperationException("Tasks.sln not found above " + AppContext.BaseDirectory);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

#if DEBUG
    public const string Configuration = "Debug";
#else
    public const string Configuration = "Release";
#endif
}
