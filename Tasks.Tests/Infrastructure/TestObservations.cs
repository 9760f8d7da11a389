using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Tasks.Worker.Execution;

namespace Tasks.Tests.Infrastructure;

/// <summary>What the test handlers (TestTasks.cs) record, read by the tests from outside the worker.</summary>
public static class TestObservations
{
    public static readonly ConcurrentDictionary<Guid, int> InQuery = new();
    public static readonly ConcurrentDictionary<Guid, ConcurrentQueue<(string Worker, long Start, long End, bool Completed)>> Runs = new();
    public static readonly ConcurrentDictionary<Guid, int> Started = new();
    public static readonly ConcurrentQueue<(string Marker, int Step, string StateAtCallback)> AfterCommit = new();
    public static readonly ConcurrentDictionary<Guid, (Guid ContextInstance, int ObjectHash)> Contexts = new();
    public static readonly ConcurrentDictionary<Guid, IReadOnlyList<string>> LateWrites = new();
    public static readonly ConcurrentDictionary<Guid, TaskCompletionSource> Gates = new();
    public static int Concurrent;
    public static int MaxConcurrent;
}

public static class TestHandlerRegistration
{
    public static IServiceCollection AddTestHandlers(this IServiceCollection services) => services
        .AddTaskHandler<AfterCommitArgs, AfterCommitHandler>()
        .AddTaskHandler<DbWriteArgs, DbWriteHandler>()
        .AddTaskHandler<RawWriteArgs, RawWriteHandler>()
        .AddTaskHandler<ResultArgs, ResultHandler>()
        .AddTaskHandler<ContextArgs, ContextHandler>()
        .AddTaskHandler<StubbornArgs, StubbornHandler>()
        .AddTaskHandler<LingeringArgs, LingeringHandler>()
        .AddTaskHandler<SecretArgs, SecretHandler>()
        .AddTaskHandler<GatedArgs, GatedHandler>()
        .AddTaskHandler<PgSleepArgs, PgSleepHandler>()
        .AddTaskHandler<ExclusiveArgs, ExclusiveHandler>()
        .AddTaskHandler<QueryTimeoutArgs, QueryTimeoutHandler>();
}
