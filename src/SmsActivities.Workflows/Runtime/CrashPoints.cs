using System.Diagnostics;

namespace SmsActivities.Workflows.Runtime;

/// <summary>
/// Fault injection for crash tests: when the environment variable <c>SMSACTIVITIES_CRASH_AT</c> names a point, the
/// process kills itself with SIGKILL (no shutdown, nothing flushed or released) the moment it reaches that point. A test
/// can so stop a server between two statements of one transaction, which no timing from outside hits reliably. Unset,
/// as it always is in production, reaching a point is one comparison.
/// </summary>
internal static class CrashPoints
{
    /// <summary>A group commit (two or more runs) has written every statement and not yet committed.</summary>
    public const string GroupCommitWritten = "group-commit-written";

    /// <summary>A group commit has committed; its leases are not yet released in memory nor its follow-ups run.</summary>
    public const string GroupCommitCommitted = "group-commit-committed";

    /// <summary>A run's commit carrying an activity's write (a send's completion) has written every statement and not yet committed.</summary>
    public const string ActivityWriteWritten = "activity-write-written";

    /// <summary>A run's commit carrying an activity's write has committed.</summary>
    public const string ActivityWriteCommitted = "activity-write-committed";

    private static readonly string? Armed = Environment.GetEnvironmentVariable("SMSACTIVITIES_CRASH_AT");

    public static void Reach(string point)
    {
        if (Armed is null || !string.Equals(Armed, point, StringComparison.Ordinal)) return;
        Console.Error.WriteLine($"crash point {point} reached: killing the process");
        Console.Error.Flush();
        Process.GetCurrentProcess().Kill();
        Thread.Sleep(Timeout.Infinite);
    }
}
