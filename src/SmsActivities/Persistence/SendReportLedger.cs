using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using SmsActivities.Vendors;

namespace SmsActivities.Persistence;

/// <summary>How far the reports of one send have come: its recipients waited for, and how many of them have a report.</summary>
public sealed record SendReportProgress(int Targets, int Reported)
{
    public int Pending => Targets - Reported;
}

/// <summary>
/// A send a wait is on: the attempt's idempotency key, and the instance and SendSms activity that wrote its records.
/// <paramref name="Zoned"/>: the send was split by time zone, so its records carry the group keys of <see cref="SendRecordStore.SendZoneKey"/>.
/// </summary>
public sealed record SendReference(string Key, string InstanceId, string ActivityId, bool Zoned);

/// <summary>
/// One send's recipients as a wait on it counts them, read in one statement: accepted with a message id, and in doubt
/// (or pending), each with how many of them have a stored report.
/// </summary>
public sealed record SendReportCounts(int Accepted, int Reported, int InDoubt, int InDoubtReported)
{
    public SendReportProgress For(bool includeInDoubt) =>
        includeInDoubt ? new SendReportProgress(Accepted + InDoubt, Reported + InDoubtReported) : new SendReportProgress(Accepted, Reported);
}

/// <summary>One recipient waited for, with the send record's status and the stored report of its message (null: none yet).</summary>
public sealed record SendReportRow(string Vendor, string? MessageId, string Mobile, string RecordStatus, string? ReportStatus, string? ReportCode)
{
    /// <summary>A report came and said anything but delivered: a failed recipient to WaitForDeliveryReport and to a resend of the failures.</summary>
    public bool ReportedNotDelivered => ReportStatus is not null && ReportStatus != nameof(Vendors.DeliveryStatus.Delivered);
}

/// <summary>A report as the report table keeps it, of a message on a send record (its number from the record).</summary>
public sealed record StoredReport(string Vendor, string MessageId, string Mobile, string Status, string? Code, DateTimeOffset ReceivedAt);

/// <summary>
/// A recipient whose message a delivery report said was not delivered, while its record still names the vendor that
/// failed it (not handed to another vendor yet): <paramref name="IdempotencyKey"/> is the key its record is under.
/// </summary>
public sealed record FailedDelivery(string IdempotencyKey, string Mobile, string Vendor, string MessageId, string? ReportCode);

/// <summary>One recipient of a send as its record stands, with the stored report of its message (null: none).</summary>
public sealed record SendRecipientRow(string Mobile, string Vendor, string Status, string? MessageId, string? Error, string? VendorCode, decimal? Fee,
    string? ReportStatus, string? ReportCode);

/// <summary>
/// A wait on a whole send reads its progress here, from the send records joined to the first final report of each
/// message (<c>sms_delivery_reports</c>), instead of keeping a list per recipient in the workflow. Counting from the
/// tables is idempotent: a report seen twice, or seen before the wait began, is counted once. Every statement finds the
/// send's records through an index (its key, or the instance and activity for the groups of a send split by time zone),
/// so its cost does not grow with the table.
/// </summary>
public sealed class SendReportLedger(IDbContextFactory<SmsActivitiesDbContext> dbFactory)
{
    /// <summary>How many sends' keys (and instances) one counting statement names, well under SQLite's parameter limit.</summary>
    private const int Chunk = 2000;

    /// <summary>
    /// The latest send of a SendSms activity in an instance; null when it sent nothing. A send split by time zone wrote one
    /// key per group: the attempt's key stands for all of them.
    /// </summary>
    public async Task<SendReference?> LatestSendAsync(string instanceId, string activityId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var latest = await db.SendRecords.AsNoTracking().Where(r => r.InstanceId == instanceId && r.ActivityId == activityId)
            .OrderByDescending(r => r.Id).Select(r => r.IdempotencyKey).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (latest is null) return null;
        var key = SendRecordStore.AttemptKey(latest);
        return new SendReference(key, instanceId, activityId, key != latest);
    }

    /// <summary>The counts of one send (one statement), whatever the send's size costs no memory.</summary>
    public async Task<SendReportProgress> ProgressAsync(SendReference send, bool includeInDoubt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        var counts = await CountsAsync([send], cancellationToken).ConfigureAwait(false);
        return counts[send.Key].For(includeInDoubt);
    }

    /// <summary>
    /// The counts of several sends at once: one grouped statement per <see cref="Chunk"/> sends, so a batch of pushes
    /// counts each send it reports on once, however many of its reports it carries.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, SendReportCounts>> CountsAsync(IReadOnlyCollection<SendReference> sends, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sends);
        var totals = sends.Select(s => s.Key).Distinct(StringComparer.Ordinal).ToDictionary(k => k, _ => new SendReportCounts(0, 0, 0, 0), StringComparer.Ordinal);
        if (totals.Count == 0) return totals;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var chunk in sends.DistinctBy(s => s.Key, StringComparer.Ordinal).Chunk(Chunk))
        {
            var keys = chunk.Select(s => s.Key).ToArray();
            // The groups of a zoned send are found through its instance (indexed), then told apart by their key below.
            var instances = chunk.Where(s => s.Zoned).Select(s => s.InstanceId).Distinct(StringComparer.Ordinal).ToArray();
            var groups = await (from r in db.SendRecords.AsNoTracking()
                                where (keys.Contains(r.IdempotencyKey!) || instances.Contains(r.InstanceId!)) && r.IdempotencyKey != null && !r.Mobile.Contains("@")
                                from d in db.DeliveryReports.Where(d => d.Vendor == r.Vendor && d.MessageId == r.MessageId).DefaultIfEmpty()
                                group new { r.Status, HasId = r.MessageId != null, Reported = d != null } by r.IdempotencyKey into g
                                select new
                                {
                                    Key = g.Key!,
                                    Accepted = g.Count(x => x.Status == SendRecordStatus.Accepted && x.HasId),
                                    Reported = g.Count(x => x.Status == SendRecordStatus.Accepted && x.HasId && x.Reported),
                                    InDoubt = g.Count(x => x.Status == SendRecordStatus.InDoubt || x.Status == SendRecordStatus.Pending),
                                    InDoubtReported = g.Count(x => (x.Status == SendRecordStatus.InDoubt || x.Status == SendRecordStatus.Pending) && x.Reported),
                                })
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            // An instance also holds its other sends' records: only this chunk's attempts are summed.
            var wanted = keys.ToHashSet(StringComparer.Ordinal);
            foreach (var g in groups)
            {
                var attempt = SendRecordStore.AttemptKey(g.Key);
                if (!wanted.Contains(attempt)) continue;
                var sum = totals[attempt];
                totals[attempt] = new SendReportCounts(sum.Accepted + g.Accepted, sum.Reported + g.Reported, sum.InDoubt + g.InDoubt, sum.InDoubtReported + g.InDoubtReported);
            }
        }
        return totals;
    }

    /// <summary>Every recipient waited for, with its report: read once, when the wait ends.</summary>
    public async Task<IReadOnlyList<SendReportRow>> RowsAsync(SendReference send, bool includeInDoubt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<SendReportRow>();
        await foreach (var row in RowsQueries.GetValue(db.Model, _ => CompileRowsQuery())(db, send.Key, send.InstanceId, send.ActivityId, SendRecordStore.ZoneKeyPrefix(send.Key), includeInDoubt)
                           .WithCancellation(cancellationToken).ConfigureAwait(false))
            rows.Add(row);
        return rows;
    }

    /// <summary>
    /// <see cref="RowsAsync"/>'s query compiled once per model, so a wait's end does not pay for EF building it: one per
    /// model because a compiled query keeps the model it first ran with, and one process may use both providers.
    /// </summary>
    private static readonly ConditionalWeakTable<IModel, Func<SmsActivitiesDbContext, string, string, string, string, bool, IAsyncEnumerable<SendReportRow>>> RowsQueries = new();

    /// <summary>
    /// What a wait on the send waits for: accepted SMS recipients with a message id, and with in-doubt ones those not known
    /// sent. The send's own key, or a time zone group's key among its instance's records (both through an index: a
    /// prefix match alone would scan the table).
    /// </summary>
    private static Func<SmsActivitiesDbContext, string, string, string, string, bool, IAsyncEnumerable<SendReportRow>> CompileRowsQuery() =>
        EF.CompileAsyncQuery((SmsActivitiesDbContext db, string key, string instanceId, string activityId, string zoneGroups, bool includeInDoubt) =>
            from r in db.SendRecords.AsNoTracking()
            where (r.IdempotencyKey == key || (r.InstanceId == instanceId && r.ActivityId == activityId && r.IdempotencyKey!.StartsWith(zoneGroups)))
                  && !r.Mobile.Contains("@")
                  && ((r.Status == SendRecordStatus.Accepted && r.MessageId != null)
                      || (includeInDoubt && (r.Status == SendRecordStatus.InDoubt || r.Status == SendRecordStatus.Pending)))
            from d in db.DeliveryReports.Where(d => d.Vendor == r.Vendor && d.MessageId == r.MessageId).DefaultIfEmpty()
            orderby r.Id
            select new SendReportRow(r.Vendor, r.MessageId, r.Mobile, r.Status, d == null ? null : d.Status, d == null ? null : d.Code));

    /// <summary>
    /// <see cref="RowsAsync"/> of several sends read at once, each named by its key and instance (its SendSms activity is
    /// told when a wait asks, <see cref="SendRowsRead.For"/>): one statement per <see cref="Chunk"/> sends, instead of
    /// one per wait, for the waits a batch of reports ends. The recipients in doubt are read too, for the waits that count them.
    /// </summary>
    internal async Task<SendRowsRead> ReadRowsAsync(IReadOnlyCollection<(string Key, string InstanceId)> sends, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(sends);
        var read = new SendRowsRead();
        if (sends.Count == 0) return read;
        // Every time zone group's key carries the separator: the instance's other sends' records mostly stay in the database.
        var zoned = SendRecordStore.ZoneKeyPrefix("");
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var chunk in sends.DistinctBy(s => s.Key, StringComparer.Ordinal).Chunk(Chunk))
        {
            var keys = chunk.Select(s => s.Key).ToArray();
            var instances = chunk.Select(s => s.InstanceId).Distinct(StringComparer.Ordinal).ToArray();
            var rows = await (from r in db.SendRecords.AsNoTracking()
                              where (keys.Contains(r.IdempotencyKey!) || (instances.Contains(r.InstanceId!) && r.IdempotencyKey!.Contains(zoned)))
                                    && !r.Mobile.Contains("@")
                                    && ((r.Status == SendRecordStatus.Accepted && r.MessageId != null) || r.Status == SendRecordStatus.InDoubt || r.Status == SendRecordStatus.Pending)
                              from d in db.DeliveryReports.Where(d => d.Vendor == r.Vendor && d.MessageId == r.MessageId).DefaultIfEmpty()
                              orderby r.Id
                              select new SendRowsRead.Row(r.IdempotencyKey!, r.InstanceId, r.ActivityId,
                                  new SendReportRow(r.Vendor, r.MessageId, r.Mobile, r.Status, d == null ? null : d.Status, d == null ? null : d.Code)))
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            read.Add(chunk, rows);
        }
        return read;
    }

    /// <summary>
    /// The stored reports of those of <paramref name="messageIds"/> that are on a send record, with the record's number: a
    /// wait by message ids takes these when it begins, since their reports were kept in the runtime's inbox only if a
    /// wait had marked them (<see cref="ReportWaitMarkers"/>). What the report table does not keep (its description, the
    /// vendor's report time) is left empty, as in a wait on a whole send.
    /// </summary>
    public async Task<IReadOnlyList<StoredReport>> StoredReportsAsync(string vendor, IReadOnlyCollection<string> messageIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vendor);
        ArgumentNullException.ThrowIfNull(messageIds);
        var found = new List<StoredReport>();
        if (messageIds.Count == 0) return found;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var ids in messageIds.Distinct(StringComparer.Ordinal).Chunk(Chunk))
        {
            var rows = await (from d in db.DeliveryReports.AsNoTracking()
                              where d.Vendor == vendor && ids.Contains(d.MessageId)
                              from r in db.SendRecords.Where(r => r.Vendor == d.Vendor && r.MessageId == d.MessageId)
                              select new { d.MessageId, r.Mobile, d.Status, d.Code, d.ReceivedAtTicks })
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            found.AddRange(rows.DistinctBy(r => r.MessageId, StringComparer.Ordinal)
                .Select(r => new StoredReport(vendor, r.MessageId, r.Mobile, r.Status, r.Code, new DateTimeOffset(r.ReceivedAtTicks, TimeSpan.Zero))));
        }
        return found;
    }

    /// <summary>
    /// The recipients of a send whose stored report says not delivered and whose record still carries that message: those
    /// a failover after a failed report has not taken yet. <paramref name="message"/> narrows it to one message (looked
    /// up by its vendor and id, through their index); without it the whole send is read (when a wait on it begins, or
    /// when a send window opens).
    /// </summary>
    public async Task<IReadOnlyList<FailedDelivery>> FailedDeliveriesAsync(SendReference send, (string Vendor, string MessageId)? message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var records = RecordsOf(db, send).Where(r => r.Status == SendRecordStatus.Accepted && r.MessageId != null);
        if (message is var (vendor, messageId)) records = records.Where(r => r.Vendor == vendor && r.MessageId == messageId);
        return await (from r in records
                      join d in db.DeliveryReports on new { r.Vendor, MessageId = r.MessageId! } equals new { d.Vendor, d.MessageId }
                      where d.Status == nameof(DeliveryStatus.Failed)
                      orderby r.Id
                      select new FailedDelivery(r.IdempotencyKey!, r.Mobile, r.Vendor, r.MessageId!, d.Code))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every recipient of a send with its record and report: read once, when a wait on a campaign's reports ends.</summary>
    public async Task<IReadOnlyList<SendRecipientRow>> RecipientsAsync(SendReference send, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        return await (from r in RecordsOf(db, send)
                      from d in db.DeliveryReports.Where(d => d.Vendor == r.Vendor && d.MessageId == r.MessageId).DefaultIfEmpty()
                      orderby r.Id
                      select new SendRecipientRow(r.Mobile, r.Vendor, r.Status, r.MessageId, r.Error, r.VendorCode, r.Fee, d == null ? null : d.Status, d == null ? null : d.Code))
            .ToListAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The sends whose records carry the reported messages: one indexed query per vendor of the push. A message not on a
    /// record yet (its batch not settled) maps to none; the wait counts its report from the tables when it begins.
    /// </summary>
    public async Task<IReadOnlyDictionary<(string Vendor, string MessageId), SendReference>> SendsOfAsync(IReadOnlyList<DeliveryReport> reports, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var sends = new Dictionary<(string Vendor, string MessageId), SendReference>();
        if (reports.Count == 0) return sends;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var (vendor, ids) in reports.GroupBy(r => r.Vendor, StringComparer.Ordinal)
                     .SelectMany(g => g.Select(r => r.MessageId).Distinct(StringComparer.Ordinal).Chunk(5000).Select(c => (g.Key, c))))
        {
            var rows = await db.SendRecords.AsNoTracking().Where(r => r.Vendor == vendor && ids.Contains(r.MessageId!) && r.IdempotencyKey != null)
                .Select(r => new { r.MessageId, r.IdempotencyKey, r.InstanceId, r.ActivityId }).ToListAsync(cancellationToken).ConfigureAwait(false);
            foreach (var row in rows)
            {
                var key = SendRecordStore.AttemptKey(row.IdempotencyKey!);
                sends.TryAdd((vendor, row.MessageId!), new SendReference(key, row.InstanceId ?? "", row.ActivityId ?? "", key != row.IdempotencyKey));
            }
        }
        return sends;
    }

    /// <summary>The SMS records of a send: its own key, or a time zone group's key among its instance's records.</summary>
    private static IQueryable<SendRecordEntity> RecordsOf(SmsActivitiesDbContext db, SendReference send)
    {
        var zoneGroups = SendRecordStore.ZoneKeyPrefix(send.Key);
        return db.SendRecords.AsNoTracking().Where(r => (r.IdempotencyKey == send.Key
                                                         || (r.InstanceId == send.InstanceId && r.ActivityId == send.ActivityId && r.IdempotencyKey!.StartsWith(zoneGroups)))
                                                        && !r.Mobile.Contains("@"));
    }
}
