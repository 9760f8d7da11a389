namespace Tasks.Contracts;

/// <summary>A task argument that is redacted (<c>***</c>) wherever it would be shown: logs, API responses, the dashboard.</summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter, Inherited = false)]
public sealed class SensitiveAttribute : Attribute;
