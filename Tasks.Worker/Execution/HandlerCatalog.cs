using System.Collections.Frozen;

namespace Tasks.Worker.Execution;

/// <summary>The handlers this worker has, by task name.</summary>
public sealed class HandlerCatalog(IEnumerable<HandlerRegistration> registrations)
{
    private readonly FrozenDictionary<string, HandlerRegistration> _byName =
        registrations.ToFrozenDictionary(r => r.Definition.Name, StringComparer.Ordinal);

    public bool TryGet(string name, out HandlerRegistration registration) => _byName.TryGetValue(name, out registration!);
}
