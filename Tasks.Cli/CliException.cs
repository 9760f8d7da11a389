namespace Tasks.Cli;

/// <summary>Ends a command with one line on stderr and <see cref="ExitCode"/>.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
