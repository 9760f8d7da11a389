using System.ComponentModel.DataAnnotations;

namespace Tasks.Contracts.Demo;

/// <summary>Sleeps, reporting progress each second and honouring cancellation.</summary>
[TaskContract("demo.sleep", MaxAttempts = 1, TimeLimitSeconds = 3600)]
public sealed record SleepArgs([property: Range(0, 3600)] int Seconds);
