using System.Globalization;
using Xunit.Runner.Common;
using Xunit.Sdk;

[assembly: RegisterRunnerReporter(typeof(Tasks.Tests.Infrastructure.ProgressReporter))]

namespace Tasks.Tests.Infrastructure;

/// <summary>
/// <c>-reporter progress</c> (what <c>./dev test</c> uses): a line per test class as it finishes, each failure in
/// full (name, assertion, stack, the test's output: its hosts' logs) as the default reporter prints it, and the
/// summary; nothing for a passing test.
/// </summary>
public sealed class ProgressReporter : IRunnerReporter
{
    public bool CanBeEnvironmentallyEnabled => false;
    public string Description => "a line per test class, failures in full, the summary";
    public bool ForceNoLogo => true;
    public bool IsEnvironmentallyEnabled => false;
    public string RunnerSwitch => "progress";

    public ValueTask<IRunnerReporterMessageHandler> CreateMessageHandler(IRunnerLogger logger, IMessageSink? diagnosticMessageSink) =>
        new(new Handler(logger));

    private sealed class Handler(IRunnerLogger logger) : DefaultRunnerReporterMessageHandler(logger)
    {
        protected override void HandleTestAssemblyDiscoveryStarting(MessageHandlerArgs<TestAssemblyDiscoveryStarting> args) { }

        protected override void HandleTestAssemblyDiscoveryFinished(MessageHandlerArgs<TestAssemblyDiscoveryFinished> args) { }

        protected override void HandleTestAssemblyExecutionStarting(MessageHandlerArgs<TestAssemblyExecutionStarting> args) { }

        protected override void HandleTestAssemblyExecutionFinished(MessageHandlerArgs<TestAssemblyExecutionFinished> args) { }

        protected override void HandleTestClassFinished(MessageHandlerArgs<ITestClassFinished> args)
        {
            var finished = args.Message;
            var name = MetadataCache.TryGetClassMetadata(finished)?.TestClassName ?? "<unknown class>";
            name = name[(name.LastIndexOf('.') + 1)..];
            var time = finished.ExecutionTime.ToString("0.0", CultureInfo.InvariantCulture);
            var skipped = finished.TestsSkipped > 0 ? $", {finished.TestsSkipped} skipped" : "";
            if (finished.TestsFailed > 0)
                Logger.LogError($"  {name} ✗ {finished.TestsFailed} of {finished.TestsTotal} failed{skipped} ({time}s)");
            else
                Logger.LogImportantMessage($"  {name} ✓ {finished.TestsTotal - finished.TestsSkipped - finished.TestsNotRun}{skipped} ({time}s)");
            base.HandleTestClassFinished(args);
        }
    }
}
