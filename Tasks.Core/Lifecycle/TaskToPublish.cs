namespace Tasks.Core.Lifecycle;

public sealed record TaskToPublish(Guid Id, string Name, string Queue, string? TraceParent = null);
