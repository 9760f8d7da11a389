using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Tasks.Worker.Execution;

/// <summary>
/// Whether code running in the current async flow has sent anything to PostgreSQL. Every Npgsql command (through
/// EF Core or plain ADO.NET, on any connection) starts an activity on Npgsql's <c>ActivitySource</c> in the
/// caller's flow; a listener notes it for the flow being watched. A handler that sent nothing has nothing of its
/// own to commit, so its success can be recorded with other tasks' in one statement.
/// </summary>
internal static class DatabaseUse
{
    private static readonly AsyncLocal<StrongBox<bool>?> Watched = new();

    private static readonly ActivityListener Listener = Listen();

    /// <summary>Starts watching this async flow (and what it calls); the box turns true at the first command.</summary>
    public static StrongBox<bool> Watch()
    {
        GC.KeepAlive(Listener);
        var used = new StrongBox<bool>();
        Watched.Value = used;
        return used;
    }

    public static void Unwatch() => Watched.Value = null;

    private static ActivityListener Listen()
    {
        var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            // The least that still gets activities created (and this callback called); other listeners decide
            // whether they are recorded.
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
            ActivityStarted = _ =>
            {
                if (Watched.Value is { } used) used.Value = true;
            },
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    }
}
