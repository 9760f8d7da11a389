using System.Reflection;
using System.Text.Json;
using Tasks.Contracts;

namespace Tasks.Core.Registry;

/// <summary>
/// A task as its contract declares it: the stable name, the args record, the defaults, and which args are
/// sensitive (their JSON names, redacted wherever args are shown).
/// </summary>
public sealed record TaskDefinition(
    string Name, Type ArgsType, string Queue, int MaxAttempts, int TimeLimitSeconds, double BackoffSeconds,
    IReadOnlySet<string> SensitiveFields)
{
    /// <summary>Only an <c>admin</c> caller may enqueue it (<see cref="TaskContractAttribute.Admin"/>).</summary>
    public bool Admin { get; init; }

    public static TaskDefinition For(Type argsType)
    {
        var contract = argsType.GetCustomAttribute<TaskContractAttribute>()
            ?? throw new ArgumentException($"{argsType} is not marked [TaskContract].", nameof(argsType));
        return new TaskDefinition(contract.Name, argsType, contract.Queue, contract.MaxAttempts,
            contract.TimeLimitSeconds, contract.BackoffSeconds, SensitiveFieldsOf(argsType)) { Admin = contract.Admin };
    }

    // [Sensitive] on a positional record parameter lands on the parameter, on a property on the property: take both.
    private static HashSet<string> SensitiveFieldsOf(Type type)
    {
        var names = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.IsDefined(typeof(SensitiveAttribute)))
            .Select(p => p.Name)
            .Concat(type.GetConstructors().SelectMany(c => c.GetParameters())
                .Where(p => p.IsDefined(typeof(SensitiveAttribute)) && p.Name is not null)
                .Select(p => p.Name!));
        return names.Select(JsonNamingPolicy.CamelCase.ConvertName).ToHashSet(StringComparer.Ordinal);
    }
}
