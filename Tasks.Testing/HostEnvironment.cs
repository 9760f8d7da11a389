using System.Globalization;

namespace Tasks.Testing;

public static class HostEnvironment
{
    /// <summary>
    /// The settings a host process (<see cref="HostProcess"/>) needs to reach its database and broker, and the port its
    /// health endpoints listen on (a worker's or scheduler's; the web host answers on its own).
    /// </summary>
    public static Dictionary<string, string> For(string postgres, Uri rabbit, int healthPort) => new()
    {
        ["ConnectionStrings__Tasks"] = postgres,
        ["ConnectionStrings__RabbitMq"] = rabbit.ToString(),
        ["Health__Port"] = healthPort.ToString(CultureInfo.InvariantCulture),
    };
}
