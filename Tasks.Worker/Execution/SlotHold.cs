namespace Tasks.Worker.Execution;

/// <summary>
/// A task's slot of its queue (<see cref="TaskSlots"/>), given back once: when the task is done, or earlier, once
/// its handler has returned and all that is left is a success written with other tasks' (see
/// <see cref="HandlerTransaction"/>). See docs/design.md#third-session-the-slots-wait-on-the-flush
/// </summary>
public sealed class SlotHold(SemaphoreSlim slots)
{
    private int _released;

    public void Release()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
    }
}
