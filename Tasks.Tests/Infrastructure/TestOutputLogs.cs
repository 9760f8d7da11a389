using Microsoft.Extensions.Logging;

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// A logger provider writing to the output of the test running in <paramref name="collection"/>
/// (<see cref="RunningTestsAttribute"/>) instead of the console: the errors tests provoke on purpose stay out of a
/// passing run's console, and a failing test shows what its hosts logged.
/// </summary>
public sealed class TestOutputLogs(string collection, string host) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(collection, host, categoryName);

    public void Dispose() { }

    private sealed class Logger(string collection, string host, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = $"{DateTime.UtcNow:HH:mm:ss.fff} {host} {logLevel}: {category}: {formatter(state, exception)}";
            RunningTestsAttribute.Write(collection, exception is null ? line : line + "\n" + exception);
        }
    }
}
