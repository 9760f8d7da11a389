using Tasks.Core.Control;

namespace Tasks.Web.Apis;

/// <summary>
/// Tells the workers, over the control channel, that a running task's cancel was requested. Best effort: the
/// request is stored already (<c>cancel_requested</c>) and the worker's poll finds it anyway, so a broker that
/// can't take the command in a moment costs only that poll's delay, never the API call.
/// </summary>
public sealed partial class CancelBroadcast(ControlClient control, TimeProvider clock, ILogger<CancelBroadcast> logger)
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(2);

    public async Task SendAsync(Guid taskId, CancellationToken ct)
    {
        using var late = new CancellationTokenSource(SendTimeout, clock);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(ct, late.Token);
        try
        {
            await control.TellAsync(ControlChannel.Cancel, null, bounded.Token, taskId: taskId);
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            LogFailed(logger, e, taskId);
        }
    }

    [LoggerMessage(LogLevel.Warning, "Task {TaskId}: the cancel is stored, but telling the workers over the control channel failed; its worker's poll will find it")]
    private static partial void LogFailed(ILogger logger, Exception e, Guid taskId);
}
