using Npgsql;
using Polly;
using Polly.Retry;

namespace Tasks.Core.Lifecycle;

/// <summary>
/// Runs a write again when the database refused it as a whole: a deadlock victim, a pooled connection a restart
/// ended while it sat idle, a cut socket (Npgsql's transient errors). Three tries, 50 then 100 ms apart. The write
/// must be safe to repeat: every one retried here is conditional on the task's state and attempt.
/// See docs/design.md#transient-writes-a-polly-pipeline-issue-24
/// </summary>
public sealed class TransientRetry(TimeProvider clock)
{
    /// <summary>For writers built outside dependency injection (tests): on the system clock.</summary>
    public static readonly TransientRetry System = new(TimeProvider.System);

    private readonly ResiliencePipeline _pipeline = new ResiliencePipelineBuilder { TimeProvider = clock }
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>(e => e.IsTransient),
            MaxRetryAttempts = 2,
            BackoffType = DelayBackoffType.Linear,
            Delay = TimeSpan.FromMilliseconds(50),
            UseJitter = false,
        })
        .Build();

    public async Task RunAsync(Func<CancellationToken, Task> write, CancellationToken ct) =>
        await _pipeline.ExecuteAsync(static async (w, token) => await w(token), write, ct);

    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> write, CancellationToken ct) =>
        await _pipeline.ExecuteAsync(static async (w, token) => await w(token), write, ct);
}
