using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using SmsActivities.Routing;
using SmsActivities.Vendors;

namespace SmsActivities.Persistence;

/// <summary>One recipient of a send as the records know it.</summary>
public sealed record SentMessage(string Vendor, string MessageId, string Mobile);

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
        await using var transaction = await InsightRollup.BeginAsync(db, cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey && r.Status == SendRecordStatus.Pending)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var before = rows.Select(InsightRollup.Snapshot).ToArray();
        foreach (var row in rows) row.Status = SendRecordStatus.InDoubt;
        await SaveAsync(db, before, rows, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Saves changes to tracked <paramref name="rows"/> (<paramref name="before"/>: their snapshots, in the same order)
    /// with the insights cells they move, inside the caller's <see cref="InsightRollup.BeginAsync"/> transaction.
    /// </summary>
    private static async Task SaveAsync(SmsActivitiesDbContext db, IReadOnlyList<SendRecordEntity> before, IReadOnlyList<SendRecordEntity> rows, CancellationToken cancellationToken)
    {
        var changed = Enumerable.Range(0, rows.Count).Where(i => InsightRollup.Differs(before[i], rows[i])).ToArray();
        var reports = await InsightRollup.ReportsAsync(db, changed.SelectMany(i => new[] { before[i], rows[i] }), cancellationToken).ConfigureAwait(false);
        var delta = new InsightDelta();
        foreach (var i in changed)
        {
            delta.Remove(before[i], InsightRollup.ReportOf(reports, before[i]));
            delta.Add(rows[i], InsightRollup.ReportOf(reports, rows[i]));
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await delta.ApplyAsync(db, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes one record per recipient, committed before the vendor is called: Pending, or Queued for a send that hands
    /// its recipients to the vendors batch by batch (<see cref="StartBatchAsync"/>, <see cref="SettleAsync"/>).
    /// </summary>
    public async Task BeginAsync(string idempotencyKey, string instanceId, string activityId, string plannedVendor, IReadOnlyList<string> mobiles, CancellationToken cancellationToken,
        bool batched = false, string? definitionId = null)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await InsightRollup.BeginAsync(db, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow().UtcTicks;
        var rows = mobiles.Select(m => new SendRecordEntity
        {
            Vendor = plannedVendor, Mobile = m, InstanceId = instanceId, ActivityId = activityId,
            IdempotencyKey = idempotencyKey, Status = batched ? SendRecordStatus.Queued : SendRecordStatus.Pending, CreatedAtTicks = now,
            DefinitionId = string.IsNullOrEmpty(definitionId) ? null : definitionId,
        }).ToArray();
        db.SendRecords.AddRange(rows);
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        // A new record has no message id yet, so no report to join.
        var delta = new InsightDelta();
        foreach (var row in rows) delta.Add(row, null);
        await delta.ApplyAsync(db, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Marks one batch's Queued records Pending, committed before the batch is handed to a vendor. The insights cells
    /// count both as queued, so they do not change.
    /// </summary>
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
        await using var transaction = await InsightRollup.BeginAsync(db, cancellationToken).ConfigureAwait(false);
        var mobiles = outcomes.Select(o => o.Mobile).ToArray();
        var rows = await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey && mobiles.Contains(r.Mobile)).ToListAsync(cancellationToken).ConfigureAwait(false);
        var before = rows.Select(InsightRollup.Snapshot).ToArray();
        Settle(rows, outcomes);
        await SaveAsync(db, before, rows, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static void Settle(IEnumerable<SendRecordEntity> rows, IReadOnlyList<SmsRecipientOutcome> outcomes)
    {
        var byMobile = outcomes.GroupBy(o => o.Mobile, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (!byMobile.TryGetValue(row.Mobile, out var outcome)) continue;
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
        await using var transaction = await InsightRollup.BeginAsync(db, cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.Where(r => r.IdempotencyKey == idempotencyKey).ToListAsync(cancellationToken).ConfigureAwait(false);
        var before = rows.Select(InsightRollup.Snapshot).ToArray();
        Settle(rows, outcomes);
        db.SendOutcomes.Add(new SendOutcomeEntity { IdempotencyKey = idempotencyKey, Outputs = Compress(JsonSerializer.Serialize(outputs, ReplayJson)), CreatedAtTicks = time.GetUtcNow().UtcTicks });
        await SaveAsync(db, before, rows, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The accepted messages of the latest attempt of a SendSms activity in an instance. SendEmail keeps its records
    /// here too, with an address for the mobile: those are no SMS and no SMS report will come for them, so they are left out.
    /// </summary>
    public async Task<IReadOnlyList<SentMessage>> AcceptedByActivityAsync(string instanceId, string activityId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await db.SendRecords.AsNoTracking()
            .Where(r => r.InstanceId == instanceId && r.ActivityId == activityId)
            .OrderBy(r => r.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var latest = rows.LastOrDefault()?.IdempotencyKey;
        return rows.Where(r => r.IdempotencyKey == latest && r.Status == SendRecordStatus.Accepted && r.MessageId != null && !r.Mobile.Contains('@', StringComparison.Ordinal))
            .Select(r => new SentMessage(r.Vendor, r.MessageId!, r.Mobile)).ToArray();
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
        await using var transaction = await InsightRollup.BeginAsync(db, cancellationToken).ConfigureAwait(false);
        // Each message's report as it was before this push (null: none), for the insights cells of its send records.
        var previous = new Dictionary<(string Vendor, string MessageId), DeliveryReportEntity?>();
        var current = new Dictionary<(string Vendor, string MessageId), DeliveryReportEntity>();
        foreach (var byVendor in reports.GroupBy(r => r.Vendor, StringComparer.Ordinal))
        {
            var ids = byVendor.Select(r => r.MessageId).Distinct(StringComparer.Ordinal).ToArray();
            var stored = await db.DeliveryReports.Where(d => d.Vendor == byVendor.Key && ids.Contains(d.MessageId))
                .ToDictionaryAsync(d => d.MessageId, StringComparer.Ordinal, cancellationToken).ConfigureAwait(false);
            foreach (var report in byVendor)
            {
                var status = report.Status.ToString();
                var code = report.Status == DeliveryStatus.Failed ? report.VendorCode : null;
                var key = (report.Vendor, report.MessageId);
                if (!stored.TryGetValue(report.MessageId, out var row))
                {
                    previous.TryAdd(key, null);
                    stored[report.MessageId] = row = new DeliveryReportEntity { Vendor = report.Vendor, MessageId = report.MessageId, Status = status, Code = code, ReceivedAtTicks = receivedAt.UtcTicks };
                    db.DeliveryReports.Add(row);
                    current[key] = row;
                }
                else if (row.Status == nameof(DeliveryStatus.Unknown) && report.Status != DeliveryStatus.Unknown)
                {
                    previous.TryAdd(key, new DeliveryReportEntity { Vendor = row.Vendor, MessageId = row.MessageId, Status = row.Status, Code = row.Code, ReceivedAtTicks = row.ReceivedAtTicks });
                    row.Status = status;
                    row.Code = code;
                    row.ReceivedAtTicks = receivedAt.UtcTicks;
                    current[key] = row;
                }
            }
        }
        // The send records these reports answer, as committed (the write lock is held): a record not settled yet has no
        // message id and counts the report when it settles.
        var delta = new InsightDelta();
        if (current.Count > 0)
        {
            foreach (var chunk in current.Keys.Select(k => k.MessageId).Distinct(StringComparer.Ordinal).Chunk(5000))
            {
                var sends = await db.SendRecords.AsNoTracking().Where(r => r.MessageId != null && chunk.Contains(r.MessageId))
                    .ToListAsync(cancellationToken).ConfigureAwait(false);
                foreach (var send in sends)
                {
                    if (!current.TryGetValue((send.Vendor, send.MessageId!), out var now)) continue;
                    delta.Remove(send, previous[(send.Vendor, send.MessageId!)]);
                    delta.Add(send, now);
                }
            }
        }
        await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        await delta.ApplyAsync(db, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
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
        await using var transaction = await InsightRollup.BeginAsync(db, cancellationToken).ConfigureAwait(false);
        var at = receivedAt.UtcTicks;
        var touched = new Dictionary<long, (SendRecordEntity Before, SendRecordEntity Row)>();
        foreach (var (mobile, optOut) in replies)
        {
            var latest = await db.SendRecords.Where(x => x.Mobile == mobile && x.Status == SendRecordStatus.Accepted && x.CreatedAtTicks <= at)
                .MaxAsync(x => (long?)x.Id, cancellationToken).ConfigureAwait(false);
            if (latest is not { } id) continue;
            if (!touched.TryGetValue(id, out var entry))
            {
                var row = await db.SendRecords.SingleAsync(r => r.Id == id, cancellationToken).ConfigureAwait(false);
                touched[id] = entry = (InsightRollup.Snapshot(row), row);
            }
            entry.Row.RepliedAtTicks ??= at;
            entry.Row.OptedOut |= optOut;
        }
        await SaveAsync(db, touched.Values.Select(t => t.Before).ToArray(), touched.Values.Select(t => t.Row).ToArray(), cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
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
