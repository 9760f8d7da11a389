namespace Tasks.Contracts.Demo;

/// <summary>Returns its arguments as its result.</summary>
[TaskContract("demo.echo", MaxAttempts = 1, TimeLimitSeconds = 30)]
public sealed record EchoArgs(string? Message = null, System.Text.Json.JsonElement? Data = null);
