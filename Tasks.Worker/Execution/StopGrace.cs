using Microsoft.Extensions.Options;

namespace Tasks.Worker.Execution;

/// <summary>
/// Waits for a handler; once its token has fired, waits at most <c>Worker:StopGraceSeconds</c> more, then gives up
/// on it (throws <see cref="TimeoutException"/>): a handler that ignores its token can't hold a slot or the message forever.
/// </summary>
public sealed class StopGrace(IOptions<WorkerOptions> options, TimeProvider clock)
{
    private readonly TimeSpan _grace = TimeSpan.FromSeconds(options.Value.StopGraceSeconds);

    public async Task<TaskOutcome> WaitAsync(Task<TaskOutcome> handler, RunningTask attempt)
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = attempt.Token.Register(() => stopped.TrySetResult());
        var first = await Task.WhenAny(handler, stopped.Task);
        if (first == handler) return await handler;
        try
        {
            return await handler.WaitAsync(_grace, clock);
        }
        catch (TimeoutException)
        {
            _ = handler.ContinueWith(t => t.Exception, TaskScheduler.Default); // observe whatever it ends with
            throw;
        }
    }
}
