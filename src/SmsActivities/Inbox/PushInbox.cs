using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using SmsActivities.Persistence;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Inbox;

/// <summary>
/// The durable push inbox (<c>sms_push_inbox</c>): a webhook push or a pull is one row written in one short transaction
/// before the vendor is acknowledged; the processor takes due rows in batches, runs them and deletes them. A row is
/// deleted only after everything it causes is stored, so a crash at any point leaves it to be run again, which the
/// stimulus dedupe keys and the first-final-report rule make harmless.
/// </summary>
internal sealed class PushInbox(PushInboxDatabase database, PushInboxSignal signal, SmsTelemetry telemetry, TimeProvider time)
{
    private readonly IDbContextFactory<SmsActivitiesDbContext> dbFactory = database.Contexts;
    private readonly SqliteWriteGate writes = database.Writes;

    /// <summary>Stores one push; once this returns the vendor may be acknowledged.</summary>
    public async Task AddAsync(PushEvents events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0) return;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var now = time.GetUtcNow().UtcTicks;
        var row = new PushInboxEntity { Events = (events with { Trace = System.Diagnostics.Activity.Current?.Id }).ToJson(), ReceivedAtTicks = now, DueAtTicks = now };
        await using (var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false))
        {
            db.PushInbox.Add(row);
            // A caller waits for this write: it goes before the processor's and the send records' writes.
            using (await writes.EnterAsync(db, urgent: true, cancellationToken).ConfigureAwait(false))
                await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        telemetry.InboxStoreDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        signal.Wake();
    }

    /// <summary>
    /// Does at start what the first push would pay for on its acknowledgement path and its processing: the events' JSON
    /// both ways, EF's insert of an inbox row and the delete of a processed one, in a transaction that is rolled back
    /// (nothing is stored, the file is locked only for it).
    /// </summary>
    public async Task WarmAsync(CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        var sample = new PushEvents(
            [new DeliveryReport("warm-up", "0", null, DeliveryStatus.Delivered, null, null, at)],
            [new InboundReply("warm-up", "+0", "", null, at)],
            [new EmailEvent("warm-up", "0", "warm-up@invalid", EmailEventKind.Other, null, at)]);
        var json = PushEvents.FromJson(sample.ToJson()).ToJson();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        using (await writes.EnterAsync(db, urgent: false, cancellationToken).ConfigureAwait(false))
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var row = new PushInboxEntity { Events = json, ReceivedAtTicks = at.UtcTicks, DueAtTicks = long.MaxValue };
            db.PushInbox.Add(row);
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            await PushInboxClaim.DeleteAsync(db, [row.Id], cancellationToken).ConfigureAwait(false);
            await transaction.RollbackAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Takes up to <paramref name="max"/> due rows, oldest first. On PostgreSQL they stay locked (<c>FOR UPDATE SKIP
    /// LOCKED</c>) in the claim's transaction until it completes, so each row is run by one node at a time and a node
    /// that dies releases its rows with its connection. SQLite has one process and one processor per file: the claim
    /// only reads, and a crash leaves the rows due.
    /// </summary>
    public async Task<PushInboxClaim> ClaimAsync(int max, CancellationToken cancellationToken)
    {
        var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = time.GetUtcNow().UtcTicks;
            if (!DatabaseEngine.IsPostgres(db.Database))
            {
                var rows = await db.PushInbox.AsNoTracking().Where(r => r.DueAtTicks <= now).OrderBy(r => r.Id).Take(max)
                    .ToListAsync(cancellationToken).ConfigureAwait(false);
                return new PushInboxClaim(db, null, writes, rows);
            }
            var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var locked = await db.PushInbox.FromSql(
                    $"""SELECT * FROM sms.sms_push_inbox WHERE "DueAtTicks" <= {now} ORDER BY "Id" LIMIT {max} FOR UPDATE SKIP LOCKED""")
                .AsNoTracking().ToListAsync(cancellationToken).ConfigureAwait(false);
            return new PushInboxClaim(db, transaction, writes, locked);
        }
        catch
        {
            await db.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }
}

/// <summary>Rows taken by one processor pass: each is either done (deleted) or failed (kept with its error, due later).</summary>
internal sealed class PushInboxClaim(SmsActivitiesDbContext db, IDbContextTransaction? transaction, SqliteWriteGate writes, IReadOnlyList<PushInboxEntity> rows) : IAsyncDisposable
{
    private IReadOnlyList<PushInboxEntity> _rows = rows;

    /// <summary>
    /// The rows taken, handed over once: the claim keeps none of them (ending it needs only the ids it is given), so
    /// each row's JSON can be let go as soon as it is run.
    /// </summary>
    public IReadOnlyList<PushInboxEntity> TakeRows()
    {
        var taken = _rows;
        _rows = [];
        return taken;
    }

    /// <summary>Deletes the rows that were run and reschedules the failed ones, in one transaction that ends the claim.</summary>
    public async Task CompleteAsync(IReadOnlyCollection<long> done, IReadOnlyCollection<(long Id, string Error, DateTimeOffset RetryAt)> failed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(done);
        ArgumentNullException.ThrowIfNull(failed);
        using var turn = await writes.EnterAsync(db, urgent: false, cancellationToken).ConfigureAwait(false);
        var own = transaction ?? await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (own.ConfigureAwait(false))
        {
            if (done.Count > 0) await DeleteAsync(db, done, cancellationToken).ConfigureAwait(false);
            foreach (var (id, error, retryAt) in failed)
            {
                var due = retryAt.UtcTicks;
                await db.PushInbox.Where(r => r.Id == id)
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.Attempts, r => r.Attempts + 1).SetProperty(r => r.Error, error).SetProperty(r => r.DueAtTicks, due), cancellationToken)
                    .ConfigureAwait(false);
            }
            await own.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The rows that were run, gone.</summary>
    internal static Task DeleteAsync(SmsActivitiesDbContext db, IReadOnlyCollection<long> done, CancellationToken cancellationToken) =>
        db.PushInbox.Where(r => done.Contains(r.Id)).ExecuteDeleteAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (transaction is not null) await transaction.DisposeAsync().ConfigureAwait(false);
        await db.DisposeAsync().ConfigureAwait(false);
    }
}
