using System.Reflection;
using Tasks.Contracts;

namespace Tasks.Core.Registry;

/// <summary>A task as its contract declares it: the stable name, the args record and the defaults.</summary>
public sealed record TaskDefinition(
    string Name, Type ArgsType, string Queue, int MaxAttempts, int TimeLimitSeconds, double BackoffSeconds)
{
    public static TaskDefinition For(Type argsType)
    {
        var contract = argsType.GetCustomAttribute<TaskContractAttribute>()
            ?? throw new ArgumentException($"{argsType} is not marked [TaskContract].", nameof(argsType));
        return new TaskDefinition(contract.Name, argsType, contract.Queue, contract.MaxAttempts,
            contract.TimeLimitSeconds, contract.BackoffSeconds);
    }
}
