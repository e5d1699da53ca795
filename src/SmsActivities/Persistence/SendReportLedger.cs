using Microsoft.EntityFrameworkCore;
using SmsActivities.Vendors;

namespace SmsActivities.Persistence;

/// <summary>How far the reports of one send have come: its recipients waited for, and how many of them have a report.</summary>
public sealed record SendReportProgress(int Targets, int Reported)
{
    public int Pending => Targets - Reported;
}

/// <summary>One recipient waited for, with the send record's status and the stored report of its message (null: none yet).</summary>
public sealed record SendReportRow(string Vendor, string? MessageId, string Mobile, string RecordStatus, string? ReportStatus, string? ReportCode);

/// <summary>
/// A wait on a whole send reads its progress here, from the send records joined to the first final report of each
/// message (<c>sms_delivery_reports</c>), instead of keeping a list per recipient in the workflow. Counting from the
/// tables is idempotent: a report seen twice, or seen before the wait began, is counted once.
/// </summary>
public sealed class SendReportLedger(IDbContextFactory<SmsActivitiesDbContext> dbFactory)
{
    /// <summary>
    /// The idempotency key of the latest send of a SendSms activity in an instance; null when it sent nothing. A send split
    /// by time zone wrote one key per group: the attempt's key stands for all of them.
    /// </summary>
    public async Task<string?> LatestSendAsync(string instanceId, string activityId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var latest = await db.SendRecords.AsNoTracking().Where(r => r.InstanceId == instanceId && r.ActivityId == activityId)
            .OrderByDescending(r => r.Id).Select(r => r.IdempotencyKey).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        return latest is null ? null : SendRecordStore.AttemptKey(latest);
    }

    /// <summary>Two counts over the send's records (one statement each), whatever the send's size costs no memory.</summary>
    public async Task<SendReportProgress> ProgressAsync(string send, bool includeInDoubt, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var targets = Targets(db, send, includeInDoubt);
        var total = await targets.CountAsync(cancellationToken).ConfigureAwait(false);
        var reported = await targets.CountAsync(r => db.DeliveryReports.Any(d => d.Vendor == r.Vendor && d.MessageId == r.MessageId), cancellationToken).ConfigureAwait(false);
        return new SendReportProgress(total, reported);
    }

    /// <summary>Every recipient waited for, with its report: read once, when the wait ends.</summary>
    public async Task<IReadOnlyList<SendReportRow>> RowsAsync(string send, bool includeInDoubt, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await (from r in Targets(db, send, includeInDoubt)
                      from d in db.DeliveryReports.Where(d => d.Vendor == r.Vendor && d.MessageId == r.MessageId).DefaultIfEmpty()
                      orderby r.Id
                      select new SendReportRow(r.Vendor, r.MessageId, r.Mobile, r.Status, d == null ? null : d.Status, d == null ? null : d.Code))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The sends (idempotency keys) whose records carry the reported messages: one indexed query per vendor of the push.
    /// A message not on a record yet (its batch not settled) maps to none; the wait counts its report from the tables.
    /// </summary>
    public async Task<IReadOnlyDictionary<(string Vendor, string MessageId), string>> SendsOfAsync(IReadOnlyList<DeliveryReport> reports, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var sends = new Dictionary<(string Vendor, string MessageId), string>();
        if (reports.Count == 0) return sends;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (vendor, ids) in reports.GroupBy(r => r.Vendor, StringComparer.Ordinal)
                     .SelectMany(g => g.Select(r => r.MessageId).Distinct(StringComparer.Ordinal).Chunk(5000).Select(c => (g.Key, c))))
        {
            var rows = await db.SendRecords.AsNoTracking().Where(r => r.Vendor == vendor && ids.Contains(r.MessageId!) && r.IdempotencyKey != null)
                .Select(r => new { r.MessageId, r.IdempotencyKey }).ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var row in rows) sends.TryAdd((vendor, row.MessageId!), SendRecordStore.AttemptKey(row.IdempotencyKey!));
        }
        return sends;
    }

    /// <summary>What a wait on the send waits for: accepted SMS recipients with a message id, and with in-doubt ones those not known sent.</summary>
    private static IQueryable<SendRecordEntity> Targets(SmsActivitiesDbContext db, string send, bool includeInDoubt)
    {
        var zoneGroups = SendRecordStore.ZoneKeyPrefix(send);
        return db.SendRecords.AsNoTracking().Where(r => (r.IdempotencyKey == send || r.IdempotencyKey!.StartsWith(zoneGroups)) && !r.Mobile.Contains("@")
            && ((r.Status == SendRecordStatus.Accepted && r.MessageId != null)
                || (includeInDoubt && (r.Status == SendRecordStatus.InDoubt || r.Status == SendRecordStatus.Pending))));
    }
}
