using MassTransit;
using Microsoft.Extensions.Logging;

namespace Tasks.Worker.Control;

/// <summary>
/// Which of this worker's queues are paused, and their receive endpoints (each reports itself when ready). Pausing
/// stops the queue's endpoint: the broker stops delivering to this worker, and the messages it holds but hasn't
/// acknowledged go back to the queue for other workers; resuming starts it again. Stops and starts of one queue
/// run in the order asked. In memory: a restarted worker consumes all its queues.
/// See docs/design.md#pausing-a-queue-stop-its-receive-endpoint-issue-27
/// </summary>
public sealed partial class QueuePauses(ILogger<QueuePauses> logger) : IReceiveEndpointObserver
{
    public enum Change { Done, Already, NotConsumed }

    private readonly Lock _lock = new();
    private readonly Dictionary<string, IReceiveEndpoint> _endpoints = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task> _changing = new(StringComparer.Ordinal);
    private readonly HashSet<string> _paused = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CancellationTokenSource> _pausing = new(StringComparer.Ordinal);

    public bool IsPaused(string queue)
    {
        lock (_lock) return _paused.Contains(queue);
    }

    public IReadOnlyList<string> Paused
    {
        get
        {
            lock (_lock) return [.. _paused.Order(StringComparer.Ordinal)];
        }
    }

    /// <summary>
    /// Fires when the queue is paused: tasks of its messages still waiting for a slot go back to the queue then
    /// (<see cref="Execution.TaskSlots"/>), as the messages not yet taken do.
    /// </summary>
    public CancellationToken PausedToken(string queue)
    {
        lock (_lock)
        {
            if (!_pausing.TryGetValue(queue, out var pausing)) _pausing[queue] = pausing = new();
            return pausing.Token;
        }
    }

    public Change Pause(string queue) => Set(queue, paused: true);

    public Change Resume(string queue) => Set(queue, paused: false);

    private Change Set(string queue, bool paused)
    {
        CancellationTokenSource? pausing = null;
        lock (_lock)
        {
            if (!_endpoints.TryGetValue(queue, out var endpoint)) return Change.NotConsumed;
            if (!(paused ? _paused.Add(queue) : _paused.Remove(queue))) return Change.Already;
            // Fired while paused (outside the lock: its callbacks wake the waiting tasks); a resume starts a new one.
            if (!paused) _pausing.Remove(queue);
            else if (!_pausing.TryGetValue(queue, out pausing)) _pausing[queue] = pausing = new();
            var previous = _changing.GetValueOrDefault(queue, Task.CompletedTask);
            _changing[queue] = paused ? StopAsync(previous, endpoint, queue) : StartAsync(previous, endpoint, queue);
        }
        pausing?.Cancel();
        return Change.Done;
    }

    // Stop waits for the messages being consumed (their tasks finish); nobody needs to wait for it but a resume.
    private async Task StopAsync(Task previous, IReceiveEndpoint endpoint, string queue)
    {
        await previous;
        try
        {
            await endpoint.Stop();
            LogStopped(logger, queue);
        }
        catch (Exception e)
        {
            LogFailed(logger, e, queue, "stopping");
        }
    }

    private async Task StartAsync(Task previous, IReceiveEndpoint endpoint, string queue)
    {
        await previous;
        try
        {
            await endpoint.Start().Ready;
            LogStarted(logger, queue);
        }
        catch (Exception e)
        {
            LogFailed(logger, e, queue, "starting");
        }
    }

    public Task Ready(ReceiveEndpointReady ready)
    {
        lock (_lock) _endpoints[ready.InputAddress.Segments[^1]] = ready.ReceiveEndpoint;
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed) => Task.CompletedTask;

    public Task Faulted(ReceiveEndpointFaulted faulted) => Task.CompletedTask;

    [LoggerMessage(LogLevel.Information, "Queue {Queue} paused: its receive endpoint stopped, its unacknowledged messages went back to the queue")]
    private static partial void LogStopped(ILogger logger, string queue);

    [LoggerMessage(LogLevel.Information, "Queue {Queue} resumed: its receive endpoint is consuming again")]
    private static partial void LogStarted(ILogger logger, string queue);

    [LoggerMessage(LogLevel.Error, "Queue {Queue}: {Action} its receive endpoint failed")]
    private static partial void LogFailed(ILogger logger, Exception e, string queue, string action);
}
