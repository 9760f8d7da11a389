using System.Globalization;

namespace Tasks.Benchmarks.Infrastructure;

/// <summary>
/// CPU time (user + system) used so far by the processes that share the box during a run, from <c>/proc</c>: our
/// worker processes, this process (the enqueuer), every PostgreSQL process and RabbitMQ's Erlang VM. Divided by
/// the tasks a run moved, it says which part costs what, which the throughput alone hides.
/// </summary>
public sealed record CpuTime(double Hosts, double Self, double Postgres, double RabbitMq)
{
    private const double TicksPerSecond = 100; // USER_HZ: 100 on every Linux this runs on

    /// <param name="hostPids">Our host processes under test (workers, or the web app).</param>
    public static CpuTime Now(IEnumerable<int> hostPids)
    {
        double postgres = 0, rabbit = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var pid = Path.GetFileName(dir);
            if (!char.IsAsciiDigit(pid[0])) continue;
            var (comm, seconds) = Read(pid);
            if (comm == "postgres") postgres += seconds;
            else if (comm == "beam.smp") rabbit += seconds;
        }
        return new CpuTime(
            hostPids.Sum(p => Read(p.ToString(CultureInfo.InvariantCulture)).Seconds),
            Read(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)).Seconds, postgres, rabbit);
    }

    /// <summary>Microseconds of CPU per task between two readings.</summary>
    /// <param name="hosts">What the host processes are called in the figures; <paramref name="self"/> likewise for this process.</param>
    public static Dictionary<string, double> PerTask(CpuTime before, CpuTime after, long tasks, string hosts = "worker", string self = "enqueuer")
    {
        double Us(double from, double to) => (to - from) * 1e6 / tasks;
        return new Dictionary<string, double>
        {
            [hosts] = Us(before.Hosts, after.Hosts),
            [self] = Us(before.Self, after.Self),
            ["postgres"] = Us(before.Postgres, after.Postgres),
            ["rabbitmq"] = Us(before.RabbitMq, after.RabbitMq),
        };
    }

    /// <summary>CPU time of this process's children that have exited and been waited for (cutime + cstime).</summary>
    public static double WaitedForChildren()
    {
        var stat = File.ReadAllText("/proc/self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return (long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    private static (string Comm, double Seconds) Read(string pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // pid (comm) state ppid ... : comm may hold spaces and parentheses, so split after the last ')'.
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' ');
            // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return (stat[(open + 1)..close], ticks / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return ("", 0); // the process is gone
        }
    }
}
