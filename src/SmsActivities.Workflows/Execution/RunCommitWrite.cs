using System.Data.Common;

namespace SmsActivities.Workflows.Execution;

/// <summary>
/// A write an activity hands to its run (<see cref="ActivityExecutionContext.WriteWithRunCommit"/>) instead of making it
/// at once: what the activity just did (a send's records settled, its outputs kept) then commits in the same
/// transaction as the instance state that says it was done, one write instead of two. Written on its own instead
/// (<see cref="WriteAloneAsync"/>) as soon as the run goes on to anything else (another activity, a resumption) or the
/// activity asks for it, so nothing that runs later in the run, in this or another activity, reads the database
/// without it; and when the run ends in no commit of the runtime's (an activity test).
/// </summary>
public interface IRunCommitWrite
{
    /// <summary>
    /// Writes inside the run's commit, on the runtime's connection and transaction (run again on a retried attempt of the
    /// commit). Hand a write over only when the runtime's database holds the tables it writes.
    /// </summary>
    Task WriteInCommitAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Writes in a transaction of its own, now.</summary>
    Task WriteAloneAsync(CancellationToken cancellationToken);
}
