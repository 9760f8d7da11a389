namespace Tasks.Core.Monitoring;

/// <summary>A worker's cumulative stats as a snapshot saw them: the next snapshot's figures are the difference.</summary>
public sealed record WorkerBaseline(DateTimeOffset StartedAt, Dictionary<string, TaskNameStats> Stats);
