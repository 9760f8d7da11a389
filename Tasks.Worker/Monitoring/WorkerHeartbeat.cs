using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Tasks.Core.Monitoring;
using Tasks.Worker.Execution;

namespace Tasks.Worker.Monitoring;

/// <summary>
/// This worker's row in <c>workers</c>: when the next one is due and what it says. Sent by <see cref="CancelWatcher"/>
/// with the lease renewal, or alone when nothing runs; its last word, on a clean stop, says <c>stopped</c>.
/// See docs/design.md#the-worker-heartbeat-rides-on-the-lease-renewal-issue-27
/// </summary>
public sealed class WorkerHeartbeat
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly WorkerOptions _options;
    private readonly RunningTasks _running;
    private readonly WorkerCounters _counters;
    private readonly TimeProvider _clock;
    private readonly string _version;
    private readonly DateTimeOffset _startedAt;
    private readonly TimeSpan _interval;
    private long? _lastBeat;

    public WorkerHeartbeat(IOptions<WorkerOptions> options, RunningTasks running, WorkerCounters counters, TimeProvider clock)
    {
        (_options, _running, _counters, _clock) = (options.Value, running, counters, clock);
        var version = Assembly.GetEntryAssembly()?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
        _version = version.Length <= 100 ? version : version[..100];
        _startedAt = clock.GetUtcNow();
        // Due at the first poll tick that is at least nearly an interval after the last beat: a tick a little early
        // would otherwise put it off by a whole poll.
        _interval = TimeSpan.FromSeconds(_options.HeartbeatSeconds) - TimeSpan.FromMilliseconds(_options.CancelPollMilliseconds) / 2;
    }

    /// <summary>The beat to send with the renewal that starts at <paramref name="now"/> (a timestamp), or null if not due.</summary>
    public WorkerBeat? Due(long now)
    {
        if (_lastBeat is { } last && _clock.GetElapsedTime(last, now) < _interval) return null;
        _lastBeat = now; // a failed one too: the next try waits an interval, not a poll
        return Beat(stopped: false);
    }

    public WorkerBeat Beat(bool stopped) => new(
        _options.ResolvedName, Environment.MachineName, Environment.ProcessId, _version, QueuesJson(), [.. _running.Ids],
        _counters.Processed, _counters.Succeeded, _counters.Failed, _counters.Retried,
        JsonSerializer.Serialize(_counters.Snapshot(), Json), _startedAt, _options.HeartbeatSeconds, stopped);

    private string QueuesJson() => JsonSerializer.Serialize(_options.QueueList.Select(q => new WorkerQueue(q, _options.Concurrency,
        _options.EffectivePrefetch, Paused: false)), Json); // wired to QueuePauses when i-control merges
}
