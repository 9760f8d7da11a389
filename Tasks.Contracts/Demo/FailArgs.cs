using System.ComponentModel.DataAnnotations;

namespace Tasks.Contracts.Demo;

/// <summary>Fails its first <see cref="FailTimes"/> attempts (every attempt when null) with <see cref="Message"/>, then succeeds.</summary>
[TaskContract("demo.fail", MaxAttempts = 3, BackoffSeconds = 1)]
public sealed record FailArgs(
    [property: StringLength(1000)] string Message = "demo failure",
    [property: Range(0, 1000)] int? FailTimes = null);
