namespace Tasks.Worker.Execution;

/// <summary>An attempt ended without an outcome (see <see cref="PutBack"/>): its message goes back to the queue.</summary>
public sealed class TaskPutBackException(string message, Exception? inner) : Exception(message, inner);
