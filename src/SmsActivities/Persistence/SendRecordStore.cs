using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Routing;
using SmsActivities.Vendors;

namespace SmsActivities.Persistence;

/// <summary>One recipient of a send as the records know it.</summary>
public sealed record SentMessage(string Vendor, string MessageId, string Mobile);

/// <summary>
/// A recipient of a send as a wait on it sees it: accepted with its message id, or in doubt (the vendor's answer was lost,
/// <paramref name="MessageId"/> is null) under the send's <paramref name="IdempotencyKey"/>.
/// </summary>
public sealed record WaitTarget(string Vendor, string? MessageId, string Mobile, string IdempotencyKey)
{
    public bool InDoubt => MessageId is null;
}

/// <summary>A delivery report that shows the vendor did send to a recipient whose send was in doubt (see <see cref="SendRecordStore.FindInDoubtAsync"/>).</summary>
public sealed record InDoubtSettlement(DeliveryReport Report, long RecordId, string IdempotencyKey, string Mobile);

/// <summary>See <see cref="SendRecordStore.FindAsync{TOutputs}"/>.</summary>
public sealed record PriorSend<TOutputs>(IReadOnlyList<string> InDoubt, TOutputs? Completed) where TOutputs : class
{
    /// <summary>Recipients of an interrupted batched send whose batch had already been answered (accepted or refused).</summary>
    public IReadOnlyList<SmsRecipientOutcome> Settled { get; init; } = [];

    /// <summary>Recipients of an interrupted batched send whose batch was never handed to a vendor.</summary>
    public IReadOnlyList<string> NeverAttempted { get; init; } = [];
}

/// <summary>
/// Durable send records: written before the vendor call (Pending) and settled after it, so a report can be tied
/// back to the workflow that sent the message and a send interrupted by a crash is surfaced, not repeated.
/// </summary>
public sealed class SendRecordStore(IDbContextFactory<SmsActivitiesDbContext> dbFactory, TimeProvider time)
{
    private static readonly JsonSerializerOptions ReplayJson = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// What an earlier execution with this idempotency key left behind: null when there was none; otherwise either
    /// the outputs it completed with (<see cref="PriorSend{TOutputs}.Completed"/>, to be replayed without calling any
    /// vendor) or, when it began but never completed (the process died inside the vendor call), the recipients whose
    /// fate is unknown.
    /// </summary>
    public async Task<PriorSend<TOutputs>?> FindAsync<TOutputs>(string idempotencyKey, CancellationToken cancellationToken) where TOutputs : class
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var completed = await db.SendOutcomes.AsNoTracking().Where(o => o.IdempotencyKey == idempotencyKey)
            .Select(o => o.Outputs).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (completed is not null) return new PriorSend<TOutputs>([], JsonSerializer.Deserialize<TOutputs>(Decompress(completed), ReplayJson));
        var begun = await db.SendRecords.AsNoTracking().Where(r => r.IdempotencyKey == idempotencyKey)
            .Select(r => new { r.Mobile, r.Status, r.Vendor, r.MessageId, r.Error }).ToListAsync(cancellationToken).ConfigureAwait(false);
        if (begun.Count == 0) return null;
        return new PriorSend<TOutputs>(begun.Where(r => r.Status is SendRecordStatus.Pending or SendRecordStatus.InDoubt).Select(r => r.Mobile).ToArray(), null)
        {
            Settled = begun.Where(r => r.Status is SendRecordStatus.Accepted or SendRecordStatus.Rejected)
                .Select(r => new SmsRecipientOutcome(r.Mobile, r.Vendor, r.Status == SendRecordStatus.Accepted, r.MessageId, null, r.Error, null, 1)).ToArray(),
            NeverAttempted = begun.Where(r => r.Status == SendRecordStatus.Queued).Select(r => r.Mobile).ToArray(),
        };
    }

    /// <summary>Marks an interrupted send's Pending records InDoubt, once it has been reported to the workflow.</summary>
    public async Task MarkInDoubtAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey && r.Status == SendRecordStatus.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, SendRecordStatus.InDoubt), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes one record per recipient, committed before the vendor is called: Pending, or Queued for a send that hands
    /// its recipients to the vendors batch by batch (<see cref="StartBatchAsync"/>, <see cref="SettleAsync"/>).
    /// </summary>
    public async Task BeginAsync(string idempotencyKey, string instanceId, string activityId, string plannedVendor, IReadOnlyList<string> mobiles, CancellationToken cancellationToken,
        bool batched = false, string? definitionId = null)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().UtcTicks;
        db.SendRecords.AddRange(mobiles.Select(m => new SendRecordEntity
        {
            Vendor = plannedVendor, Mobile = m, InstanceId = instanceId, ActivityId = activityId,
            IdempotencyKey = idempotencyKey, Status = batched ? SendRecordStatus.Queued : SendRecordStatus.Pending, CreatedAtTicks = now,
            DefinitionId = string.IsNullOrEmpty(definitionId) ? null : definitionId,
        }));
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks one batch's Queued records Pending, committed before the batch is handed to a vendor.</summary>
    public async Task StartBatchAsync(string idempotencyKey, IReadOnlyList<string> mobiles, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey && r.Status == SendRecordStatus.Queued && mobiles.Contains(r.Mobile))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, SendRecordStatus.Pending), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Settles the records of the recipients the vendors answered for, as soon as a batch is answered.</summary>
    public async Task SettleAsync(string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var mobiles = outcomes.Select(o => o.Mobile).ToArray();
        var rows = await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey && mobiles.Contains(r.Mobile)).ToListAsync(cancellationToken).ConfigureAwait(false);
        Settle(rows, outcomes);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Settle(IEnumerable<SendRecordEntity> rows, IReadOnlyList<SmsRecipientOutcome> outcomes)
    {
        var byMobile = outcomes.GroupBy(o => o.Mobile, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (!byMobile.TryGetValue(row.Mobile, out var outcome)) continue;
            // A delivery report can come while the vendor call is still out, and settle the record (SettleInDoubtAsync);
            // the lost answer that follows knows less than that report.
            if (outcome.InDoubt && row.Status == SendRecordStatus.Accepted && row.MessageId != null) continue;
            row.Vendor = outcome.Vendor ?? row.Vendor;
            row.MessageId = outcome.MessageId;
            row.Accepted = outcome.Accepted;
            row.Status = outcome.Accepted ? SendRecordStatus.Accepted : outcome.InDoubt ? SendRecordStatus.InDoubt : SendRecordStatus.Rejected;
            row.Error = outcome.Error;
            row.VendorCode = outcome.VendorCode;
            row.Fee = outcome.Fee;
            row.Attempts = outcome.Attempts;
        }
    }

    /// <summary>
    /// Settles the Pending records of a send with what the vendors answered (the vendor that finally took or refused
    /// each recipient) and, in the same transaction, keeps the outputs the activity completes with, so an execution
    /// repeated with the same key (a crash before the workflow committed) replays them instead of sending again.
    /// </summary>
    public async Task CompleteAsync<TOutputs>(string idempotencyKey, IReadOnlyList<SmsRecipientOutcome> outcomes, TOutputs outputs, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey).ToListAsync(cancellationToken).ConfigureAwait(false);
        Settle(rows, outcomes);
        db.SendOutcomes.Add(new SendOutcomeEntity { IdempotencyKey = idempotencyKey, Outputs = Compress(JsonSerializer.Serialize(outputs, ReplayJson)), CreatedAtTicks = time.GetUtcNow().UtcTicks });
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// What a wait on a SendSms activity waits for: the recipients of the activity's latest attempt in the instance that
    /// were accepted (by message id) or are in doubt (by number). Email addresses (SendEmail shares the table) are left out.
    /// </summary>
    public async Task<IReadOnlyList<WaitTarget>> WaitTargetsAsync(string instanceId, string activityId, bool includeInDoubt, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var latest = await db.SendRecords.AsNoTracking().Where(r => r.InstanceId == instanceId && r.ActivityId == activityId)
            .OrderByDescending(r => r.Id).Select(r => r.IdempotencyKey).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (latest is null) return [];
        var rows = await db.SendRecords.AsNoTracking().Where(r => r.IdempotencyKey == latest).OrderBy(r => r.Id)
            .Select(r => new { r.Vendor, r.MessageId, r.Mobile, r.Status }).ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.Where(r => !r.Mobile.Contains('@', StringComparison.Ordinal))
            .Where(r => (r.Status == SendRecordStatus.Accepted && r.MessageId != null) || (includeInDoubt && r.Status is SendRecordStatus.InDoubt or SendRecordStatus.Pending))
            .Select(r => new WaitTarget(r.Vendor, r.Status == SendRecordStatus.Accepted ? r.MessageId : null, r.Mobile, latest)).ToArray();
    }

    /// <summary>
    /// The sends in doubt that <paramref name="reports"/> settle: a report that names its number settles the latest send
    /// to that number through the same vendor that is in doubt (or still inside the vendor call), made before the report
    /// came and no longer than <paramref name="window"/> before it. A report of a message already on a send record settles
    /// nothing else, and each record is settled by one report.
    /// </summary>
    public async Task<IReadOnlyList<InDoubtSettlement>> FindInDoubtAsync(IReadOnlyList<DeliveryReport> reports, DateTimeOffset receivedAt, TimeSpan window, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        var named = reports.Where(r => !string.IsNullOrEmpty(r.Mobile)).ToArray();
        if (named.Length == 0) return [];
        var mobiles = named.Select(r => r.Mobile!).Distinct(StringComparer.Ordinal).ToArray();
        var (from, to) = ((receivedAt - window).UtcTicks, receivedAt.UtcTicks);
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var open = await db.SendRecords.AsNoTracking()
            .Where(r => mobiles.Contains(r.Mobile) && r.IdempotencyKey != null && (r.Status == SendRecordStatus.InDoubt || r.Status == SendRecordStatus.Pending)
                        && r.CreatedAtTicks >= from && r.CreatedAtTicks <= to)
            .Select(r => new { r.Id, r.Vendor, r.Mobile, r.IdempotencyKey, r.CreatedAtTicks })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (open.Count == 0) return [];
        var ids = named.Select(r => r.MessageId).Distinct(StringComparer.Ordinal).ToArray();
        var known = (await db.SendRecords.AsNoTracking().Where(r => r.MessageId != null && ids.Contains(r.MessageId))
                .Select(r => new { r.Vendor, r.MessageId }).ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(r => (Vendor: r.Vendor.ToLowerInvariant(), r.MessageId)).ToHashSet();
        var taken = new HashSet<long>();
        var settled = new List<InDoubtSettlement>();
        foreach (var report in named)
        {
            if (known.Contains((report.Vendor.ToLowerInvariant(), report.MessageId))) continue;
            var record = open.Where(r => r.Mobile == report.Mobile && string.Equals(r.Vendor, report.Vendor, StringComparison.OrdinalIgnoreCase) && !taken.Contains(r.Id))
                .OrderByDescending(r => r.CreatedAtTicks).ThenByDescending(r => r.Id).FirstOrDefault();
            if (record is null) continue;
            taken.Add(record.Id);
            settled.Add(new InDoubtSettlement(report, record.Id, record.IdempotencyKey!, record.Mobile));
        }
        return settled;
    }

    /// <summary>Marks the settled records accepted, with the message id their report gave; a record settled meanwhile is left as it is.</summary>
    public async Task SettleInDoubtAsync(IReadOnlyList<InDoubtSettlement> settlements, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settlements);
        if (settlements.Count == 0) return;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var ids = settlements.Select(s => s.RecordId).ToArray();
        var rows = await db.SendRecords.Where(r => ids.Contains(r.Id) && (r.Status == SendRecordStatus.InDoubt || r.Status == SendRecordStatus.Pending))
            .ToDictionaryAsync(r => r.Id, cancellationToken).ConfigureAwait(false);
        foreach (var settlement in settlements)
        {
            if (!rows.TryGetValue(settlement.RecordId, out var row)) continue;
            row.Status = SendRecordStatus.Accepted;
            row.Accepted = true;
            row.MessageId = settlement.Report.MessageId;
            row.Error = null;
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// When each of <paramref name="messages"/> was handed to its vendor (the send record's creation), for those this
    /// store sent; keyed by vendor and message id. One query by message id (indexed with the vendor).
    /// </summary>
    public async Task<IReadOnlyDictionary<(string Vendor, string MessageId), DateTimeOffset>> SentAtAsync(IReadOnlyCollection<(string Vendor, string MessageId)> messages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0) return new Dictionary<(string, string), DateTimeOffset>();
        var ids = messages.Select(m => m.MessageId).Distinct(StringComparer.Ordinal).ToArray();
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.AsNoTracking()
            .Where(r => r.MessageId != null && ids.Contains(r.MessageId) && r.Status == SendRecordStatus.Accepted)
            .Select(r => new { r.Vendor, r.MessageId, r.CreatedAtTicks })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var wanted = messages.ToHashSet();
        return rows.Where(r => wanted.Contains((r.Vendor, r.MessageId!)))
            .GroupBy(r => (r.Vendor, r.MessageId!))
            .ToDictionary(g => g.Key, g => new DateTimeOffset(g.Min(r => r.CreatedAtTicks), TimeSpan.Zero));
    }

    /// <summary>
    /// Keeps the first final delivery report of each message (an <c>Unknown</c> report only until a final one comes),
    /// with the time it was received. Reports of one push are written in one transaction.
    /// </summary>
    public async Task RecordReportsAsync(IReadOnlyList<DeliveryReport> reports, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        if (reports.Count == 0) return;
        // A final report of the same message stored concurrently by another push wins the key: then read again, once.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteReportsAsync(reports, receivedAt, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (DbUpdateException) when (attempt == 1)
            {
            }
        }
    }

    private async Task WriteReportsAsync(IReadOnlyList<DeliveryReport> reports, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        foreach (var byVendor in reports.GroupBy(r => r.Vendor, StringComparer.Ordinal))
        {
            var ids = byVendor.Select(r => r.MessageId).Distinct(StringComparer.Ordinal).ToArray();
            var stored = await db.DeliveryReports.Where(d => d.Vendor == byVendor.Key && ids.Contains(d.MessageId))
                .ToDictionaryAsync(d => d.MessageId, StringComparer.Ordinal, cancellationToken).ConfigureAwait(false);
            foreach (var report in byVendor)
            {
                var status = report.Status.ToString();
                var code = report.Status == DeliveryStatus.Failed ? report.VendorCode : null;
                if (!stored.TryGetValue(report.MessageId, out var row))
                {
                    stored[report.MessageId] = row = new DeliveryReportEntity { Vendor = report.Vendor, MessageId = report.MessageId, Status = status, Code = code, ReceivedAtTicks = receivedAt.UtcTicks };
                    db.DeliveryReports.Add(row);
                }
                else if (row.Status == nameof(DeliveryStatus.Unknown) && report.Status != DeliveryStatus.Unknown)
                {
                    row.Status = status;
                    row.Code = code;
                    row.ReceivedAtTicks = receivedAt.UtcTicks;
                }
            }
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Ties each reply to the latest accepted send to its number (sent before the reply came): the first reply sets
    /// its time, an opt-out keyword marks it opted out.
    /// </summary>
    public async Task RecordRepliesAsync(IReadOnlyList<(string Mobile, bool OptOut)> replies, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(replies);
        if (replies.Count == 0) return;
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var at = receivedAt.UtcTicks;
        foreach (var (mobile, optOut) in replies)
        {
            var latest = await db.SendRecords.Where(x => x.Mobile == mobile && x.Status == SendRecordStatus.Accepted && x.CreatedAtTicks <= at)
                .MaxAsync(x => (long?)x.Id, cancellationToken).ConfigureAwait(false);
            if (latest is null) continue;
            await db.SendRecords.Where(r => r.Id == latest)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(r => r.RepliedAtTicks, r => r.RepliedAtTicks ?? at)
                    .SetProperty(r => r.OptedOut, r => r.OptedOut || optOut), cancellationToken).ConfigureAwait(false);
        }
    }

    private static byte[] Compress(string json)
    {
        using var buffer = new MemoryStream();
        using (var zip = new GZipStream(buffer, CompressionLevel.Fastest))
            zip.Write(Encoding.UTF8.GetBytes(json));
        return buffer.ToArray();
    }

    private static string Decompress(byte[] data)
    {
        using var zip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var reader = new StreamReader(zip, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
