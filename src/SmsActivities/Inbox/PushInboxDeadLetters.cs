using Microsoft.EntityFrameworkCore;
using SmsActivities.Persistence;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Inbox;

/// <summary>
/// A push set aside after failing <see cref="PushInboxOptions.MaxAttempts"/> times, as an operator sees it: its error and
/// how many events it holds, never the events themselves (they hold phone numbers and texts).
/// </summary>
public sealed record DeadLetteredPush(long Id, DateTimeOffset ReceivedAt, int Attempts, string? Error, int Reports, int Replies, int EmailEvents);

/// <summary>One page of set-aside pushes; <paramref name="NextAfter"/>: the id to ask for the next page after (null: this is the last).</summary>
public sealed record DeadLetterPage(IReadOnlyList<DeadLetteredPush> Items, long? NextAfter);

/// <summary>
/// The operator's handle on set-aside pushes: list them, and queue one again (after the cause was mended) as a new push
/// with a fresh count of attempts. Retention purges them (<see cref="SmsRetentionOptions.DeadLetteredPushes"/>).
/// </summary>
public sealed class PushInboxDeadLetters
{
    private readonly IDbContextFactory<SmsActivitiesDbContext> dbFactory;
    private readonly SqliteWriteGate writes;
    private readonly PushInboxSignal signal;
    private readonly TimeProvider time;

    internal PushInboxDeadLetters(PushInboxDatabase database, PushInboxSignal signal, TimeProvider time) =>
        (dbFactory, writes, this.signal, this.time) = (database.Contexts, database.Writes, signal, time);

    /// <summary>
    /// The set-aside pushes with an id above <paramref name="after"/>, oldest first, at most <paramref name="max"/>.
    /// Paging by id (not by offset) keeps a page stable while pushes are set aside or retried meanwhile.
    /// </summary>
    public async Task<DeadLetterPage> ListAsync(long after, int max, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        // One more than asked for tells whether a next page exists.
        var rows = await db.PushInbox.AsNoTracking().Where(PushInboxProcessor.IsSetAside).Where(r => r.Id > after).OrderBy(r => r.Id).Take(max + 1)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var page = rows.Take(max).Select(Describe).ToArray();
        return new DeadLetterPage(page, rows.Count > max ? page[^1].Id : null);
    }

    /// <summary>Queues a set-aside push again, due now with no failed attempts; false when no such push is set aside.</summary>
    public async Task<bool> RetryAsync(long id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        int queued;
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        using (await writes.EnterAsync(db, urgent: false, cancellationToken).ConfigureAwait(false))
        {
            queued = await db.PushInbox.Where(PushInboxProcessor.IsSetAside).Where(r => r.Id == id)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.DueAtTicks, now).SetProperty(r => r.Attempts, 0), cancellationToken).ConfigureAwait(false);
        }
        if (queued > 0) signal.Wake();
        return queued > 0;
    }

    /// <summary>Deletes the pushes set aside that were received before <paramref name="receivedBefore"/> (retention); returns how many.</summary>
    internal async Task<int> PurgeAsync(DateTimeOffset receivedBefore, CancellationToken cancellationToken)
    {
        var before = receivedBefore.UtcTicks;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        using (await writes.EnterAsync(db, urgent: false, cancellationToken).ConfigureAwait(false))
            return await db.PushInbox.Where(PushInboxProcessor.IsSetAside).Where(p => p.ReceivedAtTicks < before).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static DeadLetteredPush Describe(PushInboxEntity row)
    {
        // A row that could not even be read (the reason it was set aside, perhaps), or that reads without its lists, still lists, with no counts.
        PushEvents? events;
        try { events = PushEvents.FromJson(row.Events); }
        catch (System.Text.Json.JsonException) { events = null; }
        return new DeadLetteredPush(row.Id, new DateTimeOffset(row.ReceivedAtTicks, TimeSpan.Zero), row.Attempts, row.Error,
            events?.Reports?.Count ?? 0, events?.Replies?.Count ?? 0, events?.EmailEvents?.Count ?? 0);
    }
}
