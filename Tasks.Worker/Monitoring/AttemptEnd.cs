namespace Tasks.Worker.Monitoring;

/// <summary>How an attempt whose outcome was recorded ended (<see cref="WorkerCounters.Ended"/>).</summary>
public enum AttemptEnd { Succeeded, Failed, Retried, Canceled }
