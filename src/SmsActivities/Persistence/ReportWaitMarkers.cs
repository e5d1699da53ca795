using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using SmsActivities.Workflows.Persistence;

namespace SmsActivities.Persistence;

/// <summary>
/// The messages a WaitForDeliveryReport waits for by their ids. A report of a message on a send record is stored in the
/// runtime's inbox for such a wait only when the message is marked here: most reports are waited for through their send
/// (one bookmark per send), and a second stimulus row per report that nothing claims is most of what a report costs.
/// <para>
/// Why no report is lost: the wait marks its messages (committed) before it reads the reports already stored, and the
/// publisher stores a push's reports (committed) before it reads the marks. So either the publisher sees the mark and
/// keeps the report in the inbox, where the wait's bookmark claims it, or the wait's read comes after the report's write
/// and finds it. A report that comes after the bookmark's commit matches the bookmark itself.
/// </para>
/// </summary>
public sealed class ReportWaitMarkers(IDbContextFactory<SmsActivitiesDbContext> dbFactory, TimeProvider time,
    [FromKeyedServices(SmsActivitiesDbContext.Schema)] SqliteWriteGate? writes = null)
{
    /// <summary>How many ids one statement names, well under SQLite's parameter limit.</summary>
    private const int Chunk = 2000;

    /// <summary>The vendor of a mark on a whole send: its message id column holds the send's (attempt's) idempotency key.</summary>
    public const string WholeSend = "";

    /// <summary>
    /// Marks every message a send will get, before its vendor call (so before any of its reports can come): SendSms waits
    /// for its own reports by message id when it fails over on a failed report.
    /// </summary>
    public Task MarkSendAsync(string sendKey, CancellationToken cancellationToken) => MarkAsync(WholeSend, [sendKey], cancellationToken);

    /// <summary>Marks the messages (or refreshes their marks), committed when this returns.</summary>
    public async Task MarkAsync(string vendor, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vendor);
        ArgumentNullException.ThrowIfNull(messageIds);
        if (messageIds.Count == 0) return;
        vendor = vendor.ToLowerInvariant();
        // A mark written concurrently by another wait on the same message wins the key: then mark again, once.
        await TransientRetry.RunAsync(async () =>
        {
            try
            {
                await WriteAsync(vendor, messageIds, cancellationToken).ConfigureAwait(false);
            }
            catch (DbUpdateException e) when (!TransientRetry.IsRetryable(e))
            {
                await WriteAsync(vendor, messageIds, cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task WriteAsync(string vendor, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcTicks;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        using var turn = writes is null ? null : await writes.EnterAsync(db, urgent: false, cancellationToken).ConfigureAwait(false);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        foreach (var chunk in messageIds.Distinct(StringComparer.Ordinal).Chunk(Chunk))
        {
            var marked = await db.ReportWaits.Where(w => w.Vendor == vendor && chunk.Contains(w.MessageId)).Select(w => w.MessageId)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            if (marked.Count > 0)
                await db.ReportWaits.Where(w => w.Vendor == vendor && marked.Contains(w.MessageId))
                    .ExecuteUpdateAsync(s => s.SetProperty(w => w.WaitedAtTicks, now), cancellationToken).ConfigureAwait(false);
            db.ReportWaits.AddRange(chunk.Except(marked, StringComparer.Ordinal).Select(id => new ReportWaitEntity { Vendor = vendor, MessageId = id, WaitedAtTicks = now }));
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Which of the messages some wait has marked: one indexed query per vendor.</summary>
    public async Task<IReadOnlySet<(string Vendor, string MessageId)>> MarkedAsync(IEnumerable<(string Vendor, string MessageId)> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var marked = new HashSet<(string Vendor, string MessageId)>();
        var byVendor = messages.GroupBy(m => m.Vendor.ToLowerInvariant(), StringComparer.Ordinal).ToList();
        if (byVendor.Count == 0) return marked;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (vendor, ids) in byVendor.SelectMany(g => g.Select(m => m.MessageId).Distinct(StringComparer.Ordinal).Chunk(Chunk).Select(c => (g.Key, c))))
        {
            var found = await db.ReportWaits.AsNoTracking().Where(w => w.Vendor == vendor && ids.Contains(w.MessageId)).Select(w => w.MessageId)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            marked.UnionWith(found.Select(id => (vendor, id)));
        }
        return marked;
    }
}
