using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Tasks.Tests.Infrastructure;

/// <summary>Every log event the stack's hosts write (Information and up), with its message and scope values.</summary>
public sealed class CapturedLogs
{
    public ConcurrentQueue<CapturedLog> Events { get; } = new();

    /// <summary>A provider for one host: each logger factory hands its own scope provider to its providers.</summary>
    public ILoggerProvider ForHost() => new Provider(this);

    private sealed class Provider(CapturedLogs logs) : ILoggerProvider, ISupportExternalScope
    {
        private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

        public ILogger CreateLogger(string categoryName) => new Logger(this, logs, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

        public void Dispose() { }

        public IExternalScopeProvider Scopes => _scopes;
    }

    private sealed class Logger(Provider owner, CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => owner.Scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var values = new Dictionary<string, object?>();
            owner.Scopes.ForEachScope((scope, dict) =>
            {
                if (scope is IEnumerable<KeyValuePair<string, object>> pairs)
                    foreach (var (k, v) in pairs) dict[k] = v;
            }, values);
            if (state is IEnumerable<KeyValuePair<string, object?>> props)
                foreach (var (k, v) in props) values[k] = v;
            logs.Events.Enqueue(new CapturedLog(category, logLevel, formatter(state, exception) + (exception is null ? "" : "\n" + exception), values));
        }
    }
}

public sealed record CapturedLog(string Category, LogLevel Level, string Message, IReadOnlyDictionary<string, object?> Values);
