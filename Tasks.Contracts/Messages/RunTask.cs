namespace Tasks.Contracts.Messages;

/// <summary>
/// Tells a worker to run one task. The task row in PostgreSQL is the truth (args, state, attempts);
/// the message only says which row, so a duplicate or stale message can always be recognised and dropped.
/// </summary>
public sealed record RunTask(Guid TaskId, string Name);
