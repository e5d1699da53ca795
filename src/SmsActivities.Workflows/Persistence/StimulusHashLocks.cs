using System.Data;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace SmsActivities.Workflows.Persistence;

/// <summary>
/// What keeps a stimulus and a bookmark of the same hash from missing each other when they are written at once (the
/// stimulus finds no bookmark and waits in the inbox; the bookmark's commit finds no waiting stimulus), two commits
/// from both taking one waiting stimulus, and a repeat of a stimulus from being stored beside the first. SQLite
/// serializes writers, so SERIALIZABLE costs nothing there. On PostgreSQL, SERIALIZABLE aborts most concurrent
/// transactions of small tables (its predicate locks cover whole index pages), so the transactions run READ COMMITTED
/// and take transaction-scoped advisory locks first, so the later one waits for the earlier to commit, then sees its rows:
/// <list type="bullet">
/// <item>a commit that writes bookmarks takes their hashes exclusively: it reads and claims what waits for them;</item>
/// <item>a stimulus that may wait in the inbox takes its hash shared, so stimuli of one hash (every report of one
/// campaign's send) are recorded side by side, and only bookmark commits of that hash queue with them;</item>
/// <item>and its dedupe key exclusively, so a repeat (a vendor's retried push, maybe to another node) waits for the
/// first and is then seen as a repeat.</item>
/// </list>
/// Only stimuli that can wait in the inbox are locked: one that must not wait and finds no bookmark is dropped, exactly
/// as if it had come just before the bookmark, so it has no race to lose (a repeat of it is turned away by the unique
/// dedupe index); and such hashes are often shared cluster-wide (a trigger's "any report" filter).
/// </summary>
internal static class StimulusHashLocks
{
    public static IsolationLevel Isolation(DbContext context) =>
        DatabaseEngine.IsPostgres(context.Database) ? IsolationLevel.ReadCommitted : IsolationLevel.Serializable;

    /// <summary>
    /// Within the open transaction: waits for and holds, until it ends, the locks of the bookmarks it writes
    /// (<paramref name="bookmarkHashes"/>) and of the stimuli it records that may wait in the inbox (<paramref name="waitingStimuli"/>).
    /// </summary>
    public static async Task LockAsync(DbContext context, IEnumerable<string> bookmarkHashes, IEnumerable<(string Hash, string? DedupeKey)> waitingStimuli,
        CancellationToken cancellationToken)
    {
        if (!DatabaseEngine.IsPostgres(context.Database)) return;
        // Key → exclusive; a key wanted both ways is taken exclusively (a held shared lock is never upgraded).
        var locks = new SortedDictionary<long, bool>();
        void Want(string name, bool exclusive) => locks[Key(name)] = exclusive || locks.GetValueOrDefault(Key(name));
        foreach (var hash in bookmarkHashes) Want("stimulus:" + hash, exclusive: true);
        foreach (var (hash, dedupeKey) in waitingStimuli)
        {
            Want("stimulus:" + hash, exclusive: false);
            if (dedupeKey is not null) Want("stimulus-key:" + dedupeKey, exclusive: true);
        }
        if (locks.Count == 0) return;
        var keys = locks.Keys.ToArray();
        var exclusives = locks.Values.ToArray();
        // In ascending key order (the set is unnested in order, and the locks are taken after the sort), so two
        // transactions wanting overlapping keys queue rather than deadlock.
        await context.Database.ExecuteSqlAsync($"""
            SELECT CASE WHEN x THEN pg_advisory_xact_lock(k)::text ELSE pg_advisory_xact_lock_shared(k)::text END
            FROM unnest({keys}, {exclusives}) WITH ORDINALITY AS t(k, x, n) ORDER BY n
            """, cancellationToken);
    }

    /// <summary>A stable 64-bit key per name, the same on every node.</summary>
    private static long Key(string name) => BitConverter.ToInt64(SHA256.HashData(Encoding.UTF8.GetBytes(name)), 0);
}
