namespace Tasks.Core.Lifecycle.Moves;

/// <summary>
/// An attempt whose lease ran out: its worker died, was cut off, or put the task back. Whichever move notices ends
/// it and records it as <c>lost</c> in the same statement: the relay's release (<see cref="Release"/>), a take-over
/// at the claim (<see cref="Claim"/>), or a give-up at a skipped claim (<see cref="Skip"/>).
/// </summary>
internal static class Lost
{
    /// <summary>The history's error line for a lost attempt (no quote: it goes into SQL as it is).</summary>
    public const string Error = "Its worker stopped renewing the lease (it died, was cut off, or put the task back).";
}
