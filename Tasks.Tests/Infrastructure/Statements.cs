using System.Collections.Concurrent;
using System.Diagnostics;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// The database statements one request to a stack's in-process web host makes: Npgsql's own activities (one per
/// command, Quartz's and ours alike), children of the trace the request names in its <c>traceparent</c>.
/// </summary>
public static class Statements
{
    /// <summary>Counts the statements of what <paramref name="send"/> sends with the <c>traceparent</c> it is given.</summary>
    public static async Task<int> CountAsync(Func<string, Task> send)
    {
        var trace = ActivityTraceId.CreateRandom();
        var statements = new ConcurrentBag<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Npgsql" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = a => { if (a.TraceId == trace && a.Source.Name == "Npgsql") statements.Add(a.DisplayName); },
        };
        ActivitySource.AddActivityListener(listener);
        await send($"00-{trace}-{ActivitySpanId.CreateRandom()}-01");
        Assert.NotEmpty(statements); // else the count would prove nothing
        return statements.Count;
    }
}
