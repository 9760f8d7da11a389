namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// A <c>running</c> task whose lease ran out is taken over by the message that started its current attempt, when the
/// broker brings it back (its worker died, or put it back after losing a connection): the claim statement
/// (<see cref="Claim"/>) makes this move too. Any other message for a running task is dropped: a live owner finishes
/// it, and a dead one's lease runs out, after which the relay puts the task back (<see cref="Release"/>).
/// </summary>
public static class TakeOver
{
    /// <summary>
    /// How many times a task whose worker died mid-attempt is taken over beyond its attempts: a crash is not the
    /// task's failure, but a task that kills every worker that runs it must stop somewhere.
    /// </summary>
    public const int CrashAllowance = 3;
}
