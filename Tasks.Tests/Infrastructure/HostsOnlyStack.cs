namespace Tasks.Tests.Infrastructure;

/// <summary>
/// A stack whose hosts the test starts itself, each as its own process (as operators run them), with the
/// management URL set so the scheduler's backlog monitor polls.
/// </summary>
public sealed class HostsOnlyStack : TasksStack
{
    protected override bool StartWorker => false;
    protected override bool StartScheduler => false;

    public Dictionary<string, string> Environment()
    {
        var env = ProcessEnvironment(0);
        env["RabbitMq__ManagementUrl"] = Servers.Management.ToString();
        return env;
    }
}
