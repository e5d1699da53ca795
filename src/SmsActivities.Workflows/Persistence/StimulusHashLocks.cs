using System.Data;
using Microsoft.EntityFrameworkCore;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// What keeps a stimulus and a bookmark of the same hash from missing each other when they are written at once (the
/// stimulus finds no bookmark and waits in the inbox; the bookmark's commit finds no waiting stimulus), and two commits
/// from both taking one waiting stimulus. SQLite serializes writers, so SERIALIZABLE costs nothing there. On PostgreSQL,
/// SERIALIZABLE aborts most concurrent transactions of small tables (its predicate locks cover whole index pages), so
/// the transactions run READ COMMITTED and take a transaction-scoped advisory lock per hash first: the second one waits
/// for the first to commit, then sees its rows. Only the hashes of stimuli that can wait in the inbox are locked: one
/// that must not wait and finds no bookmark is dropped, exactly as if it had come just before the bookmark, so it has
/// no race to lose; and such hashes are often shared cluster-wide (a trigger's "any report" filter), where a lock would
/// queue every push and every commit behind one key.
/// </summary>
internal static class StimulusHashLocks
{
    public static IsolationLevel Isolation(DbContext context) =>
        context.Database.ProviderName == DatabaseSettings.NpgsqlProviderName ? IsolationLevel.ReadCommitted : IsolationLevel.Serializable;

    /// <summary>Within the open transaction: waits for and holds the locks of <paramref name="hashes"/> until it ends.</summary>
    public static async Task LockAsync(DbContext context, IEnumerable<string> hashes, CancellationToken cancellationToken)
    {
        if (context.Database.ProviderName != DatabaseSettings.NpgsqlProviderName) return;
        // Always in the same order, so two transactions wanting the same hashes do not deadlock.
        var ordered = hashes.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        foreach (var hash in ordered)
            await context.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(hashtext({"stimulus:" + hash}))", cancellationToken);
    }
}
