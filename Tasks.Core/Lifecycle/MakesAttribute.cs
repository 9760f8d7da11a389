namespace Tasks.Core.Lifecycle;

/// <summary>
/// Names the <see cref="TaskLifecycle"/> moves a statement makes; <c>LifecycleTableTests</c> checks the statement's
/// states against them. Every statement that writes <c>state</c> carries one.
/// </summary>
[AttributeUsage(AttributeTargets.Field)]
internal sealed class MakesAttribute(params string[] moves) : Attribute
{
    public IReadOnlyList<string> Moves { get; } = moves;
}
