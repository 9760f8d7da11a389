namespace Tasks.Cli;

/// <summary>What <c>tasksctl</c> exits with; documented in docs/cli.md (keep the table there in step).</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The task watched by <c>--wait</c> or <c>--watch</c> ended <c>failed</c>.</summary>
    public const int TaskFailed = 1;
    /// <summary>Bad arguments, or no URL or key configured.</summary>
    public const int Usage = 2;
    public const int TaskCanceled = 3;
    public const int TaskExpired = 4;
    public const int CannotConnect = 5;
    public const int Unauthorized = 6;
    public const int Forbidden = 7;
    public const int NotFound = 8;
    /// <summary>The API refused the request (400, 409, 413, ...): its problem's title and field errors are shown.</summary>
    public const int Rejected = 9;
    public const int Timeout = 10;
    /// <summary>A 5xx, or an answer that isn't what the API gives.</summary>
    public const int ServerError = 11;
    /// <summary>Ctrl-C while watching: the task goes on.</summary>
    public const int Interrupted = 130;
}
