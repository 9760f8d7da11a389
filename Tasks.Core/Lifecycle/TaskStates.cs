using System.Collections.Frozen;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Tasks.Core.Lifecycle;

/// <summary>The states' names as stored (lower case), and which states are final.</summary>
public static class TaskStates
{
    public static readonly FrozenDictionary<TaskState, string> Names = Enum.GetValues<TaskState>()
        .ToFrozenDictionary(s => s, s => s.ToString().ToLowerInvariant());

    private static readonly FrozenDictionary<string, TaskState> ByName =
        Names.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    internal static readonly ValueConverter<TaskState, string> Converter = new(s => NameOf(s), s => Parse(s));

    public static string NameOf(TaskState state) => Names[state];

    internal static TaskState Parse(string name) => ByName[name];

    public static bool TryParse(string? name, out TaskState state) => ByName.TryGetValue(name ?? "", out state);

    public static bool IsFinished(TaskState state) =>
        state is TaskState.Succeeded or TaskState.Failed or TaskState.Canceled or TaskState.Expired;
}
