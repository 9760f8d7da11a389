namespace Tasks.Core.Control;

/// <summary>
/// The control channel's names: the fan-out exchange every worker binds its private queue to, and the commands.
/// See docs/design.md#remote-control-a-fan-out-exchange-and-a-private-queue-per-worker-issue-27
/// </summary>
public static class ControlChannel
{
    public const string Exchange = "tasks.control";

    /// <summary>Where commands are sent: the exchange, declared fan-out and durable like the workers' bindings declare it.</summary>
    public static readonly Uri Address = new($"exchange:{Exchange}");

    public const string Ping = "ping";
    public const string Cancel = "cancel";
    public const string Shutdown = "shutdown";
    public const string Pause = "pause";
    public const string Resume = "resume";
}
