using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Tasks.Tests.Infrastructure;

/// <summary>A real Prometheus server (the Debian package) scraping the given ports every second.</summary>
public sealed class Prometheus : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _dir;
    private readonly HttpClient _http;

    private Prometheus(Process process, string dir, int port)
    {
        _process = process;
        _dir = dir;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
    }

    public static async Task<Prometheus> StartAsync(string binary, params int[] targets)
    {
        var dir = Directory.CreateTempSubdirectory("tasks-prometheus-").FullName;
        var port = HostProcess.FreePort();
        var config = Path.Combine(dir, "prometheus.yml");
        await File.WriteAllTextAsync(config, $$"""
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: tasks
                static_configs:
                  - targets: [{{string.Join(", ", targets.Select(t => $"'127.0.0.1:{t}'"))}}]
            """);
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"--config.file={config}", $"--storage.tsdb.path={Path.Combine(dir, "data")}", $"--web.listen-address=127.0.0.1:{port}" })
            info.ArgumentList.Add(a);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var prometheus = new Prometheus(process, dir, port);
        for (var i = 0; i < 100; i++)
        {
            try
            {
                using var ready = await prometheus._http.GetAsync("-/ready");
                if (ready.IsSuccessStatusCode) return prometheus;
            }
            catch (HttpRequestException) { }
            await Task.Delay(100);
        }
        await prometheus.DisposeAsync();
        throw new InvalidOperationException("Prometheus did not become ready");
    }

    /// <summary>The value of an instant query that yields one sample, or null when it yields none.</summary>
    public async Task<double?> QueryAsync(string promql)
    {
        var body = await _http.GetFromJsonAsync<JsonElement>("api/v1/query?query=" + Uri.EscapeDataString(promql));
        var result = body.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 0 ? null : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    public async Task WaitForAsync(string promql, Func<double, bool> condition)
    {
        double? last = null;
        for (var i = 0; i < 60; i++)
        {
            last = await QueryAsync(promql);
            if (last is { } v && condition(v)) return;
            await Task.Delay(500);
        }
        Assert.Fail($"Prometheus query {promql} never met the condition; last value {last?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
