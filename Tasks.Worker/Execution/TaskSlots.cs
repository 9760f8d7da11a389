using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Tasks.Core.Telemetry;
using Tasks.Worker.Control;

namespace Tasks.Worker.Execution;

/// <summary>
/// <c>Worker:Concurrency</c> in tasks, per queue: MassTransit's limit counts messages, and a message may carry
/// several. Runs each task of a message once it has a slot (so none waits for one as <c>running</c>) and gives the
/// slot back when it is done. Tasks still waiting after <c>Worker:HandBackSeconds</c>, or when their queue is
/// paused, go back to the queue; once the worker is stopping, none starts. See docs/design.md#the-workers-path-one-story-small-parts-issue-24
/// </summary>
public sealed partial class TaskSlots(
    IOptions<WorkerOptions> options, TimeProvider clock, TasksTelemetry telemetry, IHostApplicationLifetime lifetime, QueuePauses pauses,
    ILogger<TaskSlots> logger)
{
    // Never disposed: they hold no handle (AvailableWaitHandle is never asked for), and a late Release must not throw.
    private readonly ConcurrentDictionary<Uri, SemaphoreSlim> _slots = new();
    private readonly int _concurrency = options.Value.Concurrency;
    private readonly TimeSpan _handBackAfter = TimeSpan.FromSeconds(options.Value.HandBackSeconds);

    /// <summary>
    /// Runs <paramref name="run"/> for each task of the message in a slot of its queue; returns when each has run or
    /// gone back to the queue. A task still waiting when the worker stops throws: the message goes back whole once
    /// its other tasks are done (their claims drop them on its redelivery).
    /// </summary>
    public async Task RunAsync(TaskMessage message, Func<TaskMessage, int, SlotHold, CancellationToken, Task> run, CancellationToken shutdown)
    {
        var slots = _slots.GetOrAdd(message.Queue, static (_, n) => new SemaphoreSlim(n), _concurrency);
        var runs = new Task?[message.TaskIds.Count];
        Task<Task?>?[]? waits = null; // tasks that found no free slot: their run once they have one, null if late
        CancellationTokenSource? late = null; // the hand-back deadline, started by the first task that has to wait
        try
        {
            for (var i = 0; i < runs.Length; i++)
            {
                var slot = new Slot(slots, message, i, run);
                if (slots.Wait(0, CancellationToken.None)) runs[i] = StartIn(slot, shutdown);
                else (waits ??= new Task<Task?>?[runs.Length])[i] = WaitForAsync(slot, (late ??= new(_handBackAfter, clock)).Token, pauses.PausedToken(message.Queue.Segments[^1]), shutdown);
            }
            if (waits is null) await (runs.Length == 1 ? runs[0]! : Task.WhenAll(runs!)); // the common case: all in free slots
            else await RunWaitingAsync(message, runs, waits);
        }
        finally
        {
            late?.Dispose();
        }
    }

    /// <summary>One task's place in its queue's slots, and what runs in it.</summary>
    private readonly record struct Slot(SemaphoreSlim Slots, TaskMessage Message, int Index, Func<TaskMessage, int, SlotHold, CancellationToken, Task> Run);

    private async Task RunWaitingAsync(TaskMessage message, Task?[] runs, Task<Task?>?[] waits)
    {
        var waited = waits.OfType<Task<Task?>>().ToList();
        try
        {
            await Task.WhenAll(waited); // each started, past the deadline, or stopped by the worker stopping
        }
        catch (Exception)
        {
            // seen below, once the started tasks are done
        }
        var late = new List<int>();
        for (var i = 0; i < waits.Length; i++)
        {
            if (waits[i] is not { IsCompletedSuccessfully: true } wait) continue;
            if (wait.Result is { } started) runs[i] = started;
            else late.Add(i);
        }
        var notSentBack = late.Count > 0 && waited.TrueForAll(w => w.IsCompletedSuccessfully) ? await HandBackAsync(message, runs, late) : null;
        await Task.WhenAll(runs.OfType<Task>()); // rethrows what failed a started task
        await Task.WhenAll(waited); // rethrows what stopped a task from starting (the worker stopping)
        if (notSentBack is not null) ExceptionDispatchInfo.Throw(notSentBack);
    }

    /// <summary>
    /// Sends the late tasks back to the queue; returns why it didn't, if it didn't. Then the message goes back whole
    /// (its finished tasks are dropped at their claims): the worker is stopping, another task of the message failed
    /// already (the message is retried whole, these with it), or the send failed.
    /// </summary>
    private async Task<Exception?> HandBackAsync(TaskMessage message, Task?[] runs, List<int> late)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested) return new OperationCanceledException(lifetime.ApplicationStopping);
        if (Array.Exists(runs, r => r is { IsFaulted: true } or { IsCanceled: true }))
            return new InvalidOperationException($"{late.Count} task(s) of the message were not sent back: another failed.");
        try
        {
            await message.SendBackAsync(late);
        }
        catch (Exception e)
        {
            LogHandBackFailed(logger, e, late.Count);
            return e;
        }
        telemetry.HandedBack(message.Queue.Segments[^1], late.Count);
        LogHandedBack(logger, late.Count, runs.Length, _handBackAfter.TotalSeconds);
        return null;
    }

    /// <summary>Waits for a slot and starts the task in it; null when the hand-back deadline passed first, or the queue was paused.</summary>
    private async Task<Task?> WaitForAsync(Slot slot, CancellationToken late, CancellationToken paused, CancellationToken shutdown)
    {
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource([shutdown, lifetime.ApplicationStopping, late, paused]))
        {
            try
            {
                await slot.Slots.WaitAsync(waiting.Token);
            }
            catch (OperationCanceledException) when (!shutdown.IsCancellationRequested && !lifetime.ApplicationStopping.IsCancellationRequested)
            {
                return null;
            }
        }
        return StartIn(slot, shutdown);
    }

    /// <summary>The task's run in the slot it holds; failed at once, the slot given back, when the worker is stopping.</summary>
    private Task StartIn(Slot slot, CancellationToken shutdown)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested) // stopping began as the slot came free
        {
            slot.Slots.Release();
            return Task.FromException(new OperationCanceledException(lifetime.ApplicationStopping));
        }
        return RunAndReleaseAsync(slot, shutdown);
    }

    private static async Task RunAndReleaseAsync(Slot slot, CancellationToken shutdown)
    {
        var hold = new SlotHold(slot.Slots);
        try
        {
            await slot.Run(slot.Message, slot.Index, hold, shutdown);
        }
        finally
        {
            hold.Release();
        }
    }

    [LoggerMessage(LogLevel.Information, "{Count} of the {Total} task(s) of a message waited {Seconds} s for a slot, or their queue was paused; sent back to the queue for any worker")]
    private static partial void LogHandedBack(ILogger logger, int count, int total, double seconds);

    [LoggerMessage(LogLevel.Warning, "Sending {Count} waiting task(s) of a message back to the queue failed; the message goes back whole")]
    private static partial void LogHandBackFailed(ILogger logger, Exception e, int count);
}
