using System.Diagnostics;
using System.Net;

namespace Tasks.Testing;

/// <summary>Waits for a host's <c>/health/ready</c>: the bus connects in the background, so started isn't ready.</summary>
public static class Readiness
{
    /// <summary>
    /// Polls <c>/health/ready</c> at <paramref name="address"/> until it answers 200. Throws when
    /// <paramref name="failure"/> names a reason to stop (say, the process exited) or after <paramref name="timeout"/>.
    /// </summary>
    public static async Task WaitAsync(Uri address, TimeSpan timeout, Func<string?>? failure = null)
    {
        using var http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(2) };
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (failure?.Invoke() is { } reason) throw new InvalidOperationException(reason);
            try
            {
                using var response = await http.GetAsync(new Uri("health/ready", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{address} not ready in {timeout.TotalSeconds:0} s");
    }
}
