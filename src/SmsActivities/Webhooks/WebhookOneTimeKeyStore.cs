using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Webhooks;

/// <summary>
/// Remembers each <see cref="WebhookOneTimeKey"/> with the hash of the body it first came with, in the plug-in's
/// database so the rule holds across restarts and nodes. The same key with the same body is the vendor repeating
/// an unanswered push (its events are deduplicated downstream) and passes; the same key with another body is a
/// captured signature carrying a forged push and is refused. Keys are dropped once past their
/// <see cref="WebhookOneTimeKey.KeepUntil"/> (the reader refuses such pushes as stale by then), which bounds the table
/// to the pushes of one freshness window.
/// </summary>
/// <param name="writes">
/// The plug-in database's write gate (SQLite): a key is written on the acknowledgement path, so it goes first like the
/// push inbox's row; outside the gate it would wait in SQLite's busy handler behind the send-record and report commits.
/// </param>
public sealed class WebhookOneTimeKeyStore(IDbContextFactory<SmsActivitiesDbContext> dbFactory, TimeProvider time,
    [FromKeyedServices(SmsActivitiesDbContext.Schema)] SqliteWriteGate? writes = null)
{
    private static readonly TimeSpan PurgeEvery = TimeSpan.FromMinutes(1);
    private long _nextPurgeTicks;

    /// <returns>False when <paramref name="key"/> was already used with a different body.</returns>
    public async Task<bool> TryUseAsync(WebhookOneTimeKey key, byte[] body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(body);
        var hash = SHA256.HashData(body);
        await PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var existing = await db.WebhookKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Key == key.Key, cancellationToken).ConfigureAwait(false);
        if (existing is not null) return existing.BodyHash.AsSpan().SequenceEqual(hash);
        db.WebhookKeys.Add(new WebhookKeyEntity { Key = key.Key, BodyHash = hash, KeepUntilTicks = key.KeepUntil.UtcTicks });
        try
        {
            using (await EnterAsync(db, cancellationToken).ConfigureAwait(false))
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DbUpdateException)
        {
            // Two deliveries raced: the first one stored decides.
            await using var again = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
            var winner = await again.WebhookKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Key == key.Key, cancellationToken).ConfigureAwait(false);
            if (winner is null) throw;
            return winner.BodyHash.AsSpan().SequenceEqual(hash);
        }
    }

    private async Task PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        var due = Interlocked.Read(ref _nextPurgeTicks);
        if (now < due || Interlocked.CompareExchange(ref _nextPurgeTicks, now + PurgeEvery.Ticks, due) != due) return;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        using (await EnterAsync(db, cancellationToken).ConfigureAwait(false))
            await db.WebhookKeys.Where(k => k.KeepUntilTicks < now).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The write turn of an acknowledgement (urgent), or none without a gate.</summary>
    private async ValueTask<IDisposable?> EnterAsync(SmsActivitiesDbContext db, CancellationToken cancellationToken) =>
        writes is null ? null : await writes.EnterAsync(db, urgent: true, cancellationToken).ConfigureAwait(false);
}
