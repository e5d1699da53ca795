using Microsoft.EntityFrameworkCore;
using SmsActivities.Persistence;
using SmsActivities.ElsaStudio;
using SmsActivities.Vendors;

namespace SmsActivities.Server.Insights;

/// <summary>
/// The numbers behind the insights page, summed by the database from the pre-summed insights cells (one row per
/// minute, instance, step, vendor, status, report status, failure code and 100 ms latency bucket, kept equal to the
/// send records by the writes that change them): a query reads hundreds or thousands of cells, not one row per message.
/// Only a campaign's distinct recipients and its first failed recipients are read from the send records, through
/// indexes. A time range is taken in whole minutes (the answer says which). Email sends are left out.
/// </summary>
public sealed class InsightsQueries(IDbContextFactory<SmsActivitiesDbContext> dbFactory, TimeProvider time)
{
    private const int ProblemsShown = 100;
    private const int CampaignsShown = 50;
    private const int TimelineBuckets = 48;
    private static readonly string Delivered = nameof(DeliveryStatus.Delivered);
    private static readonly string Failed = nameof(DeliveryStatus.Failed);

    public async Task<IReadOnlyList<CampaignSummary>> CampaignsAsync(InsightsFilter filter, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await InRange(db, filter, out _, out _).Where(c => c.InstanceId != "")
            .GroupBy(c => new { c.InstanceId, c.DefinitionId })
            .Select(g => new { g.Key.InstanceId, g.Key.DefinitionId, First = g.Min(c => c.FirstTicks), Last = g.Max(c => c.LastTicks), Messages = g.Sum(c => c.Count) })
            .OrderByDescending(g => g.Last).Take(CampaignsShown)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.Select(r => new CampaignSummary(r.InstanceId, NullIfEmpty(r.DefinitionId), Ticks(r.First), Ticks(r.Last), r.Messages)).ToArray();
    }

    /// <returns>Null when the instance sent nothing (with this vendor).</returns>
    public async Task<CampaignView?> CampaignAsync(string instanceId, string? vendor, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var campaign = Counted(db).Where(c => c.InstanceId == instanceId);
        if (!string.IsNullOrEmpty(vendor)) campaign = campaign.Where(c => c.Vendor == vendor);

        var cells = (await campaign
            .GroupBy(c => new { c.Vendor, c.ActivityId, c.Status, c.DeliveryStatus, c.Code })
            .Select(g => new
            {
                g.Key.Vendor, g.Key.ActivityId, g.Key.Status, g.Key.DeliveryStatus, g.Key.Code,
                Count = g.Sum(c => c.Count), Replies = g.Sum(c => c.Replies), OptOuts = g.Sum(c => c.OptOuts), Failovers = g.Sum(c => c.Failovers),
                FeeUnits = g.Sum(c => c.FeeUnits), First = g.Min(c => c.FirstTicks), Last = g.Max(c => c.LastTicks),
                LastReport = g.Max(c => c.LastReportTicks), DefinitionId = g.Max(c => c.DefinitionId),
            })
            .ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(c => new Cell
            {
                Vendor = c.Vendor, ActivityId = NullIfEmpty(c.ActivityId), Status = c.Status, DeliveryStatus = NullIfEmpty(c.DeliveryStatus), Code = NullIfEmpty(c.Code),
                Count = c.Count, Replies = c.Replies, OptOuts = c.OptOuts, Failovers = c.Failovers, Fees = c.FeeUnits / InsightCellEntity.FeeScale,
                FirstTicks = c.First, LastTicks = c.Last, LastReportTicks = c.LastReport, DefinitionId = NullIfEmpty(c.DefinitionId),
            })
            .ToArray();
        if (cells.Length == 0) return null;
        var byVendor = Funnels(cells);
        var funnel = byVendor.Values.Aggregate(Funnel.Empty, (a, b) => a + b);
        var latency = await LatencyAsync(campaign, cancellationToken).ConfigureAwait(false);

        var records = db.SendRecords.AsNoTracking().Where(r => r.InstanceId == instanceId && !r.Mobile.Contains("@"));
        if (!string.IsNullOrEmpty(vendor)) records = records.Where(r => r.Vendor == vendor);
        var recipients = await records.Select(r => r.Mobile).Distinct().CountAsync(cancellationToken).ConfigureAwait(false);
        var problems = await ProblemsAsync(db, records, anyFailedReport: cells.Any(c => c.DeliveryStatus == Failed), cancellationToken).ConfigureAwait(false);

        var steps = cells.GroupBy(c => (c.ActivityId, c.Vendor))
            .Select(g => new CampaignStep(g.Key.ActivityId, g.Key.Vendor, g.Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.Accepted).Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.Accepted && c.DeliveryStatus == Delivered).Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.Accepted && c.DeliveryStatus == Failed).Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.Rejected).Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.InDoubt).Sum(c => c.Count)))
            .OrderBy(s => s.ActivityId, StringComparer.Ordinal).ThenBy(s => s.Vendor, StringComparer.Ordinal).ToArray();
        var first = cells.Min(c => c.FirstTicks);
        var last = Math.Max(cells.Max(c => c.LastTicks), cells.Max(c => c.LastReportTicks) ?? 0);

        return new CampaignView(
            instanceId, cells.Max(c => c.DefinitionId), recipients, funnel, VendorRows(byVendor, latency), steps, ErrorCodes(cells),
            Progress(funnel, first, last), problems, StudioInstanceUrl(instanceId));
    }

    /// <summary>
    /// The first refused, in-doubt or reported-failed recipients by record id: the first two through the partial index
    /// of refused and in-doubt records (<see cref="SmsActivitiesDbContext.ProblemsIndex"/>, through its own condition);
    /// failed reports only looked for when the cells say there are some.
    /// </summary>
    private static async Task<IReadOnlyList<ProblemRecipient>> ProblemsAsync(SmsActivitiesDbContext db, IQueryable<SendRecordEntity> records, bool anyFailedReport, CancellationToken cancellationToken)
    {
        var refused = await records.Where(SmsActivitiesDbContext.IsProblem)
            .OrderBy(r => r.Id).Take(ProblemsShown)
            .Select(r => new { r.Id, r.Mobile, r.Vendor, r.ActivityId, r.Status, r.VendorCode, r.Error })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var problems = refused.Select(p => new ProblemRecipient(p.Id, PhoneNumber.Mask(p.Mobile), p.Vendor, p.ActivityId,
            p.Status == SendRecordStatus.Rejected ? "send" : "in doubt", p.VendorCode, p.Error)).ToList();
        if (anyFailedReport)
        {
            var failed = await (
                    from r in records.Where(r => r.Status == SendRecordStatus.Accepted)
                    join d in db.DeliveryReports.AsNoTracking() on new { r.Vendor, MessageId = r.MessageId! } equals new { d.Vendor, d.MessageId }
                    where d.Status == Failed
                    orderby r.Id
                    select new { r.Id, r.Mobile, r.Vendor, r.ActivityId, d.Code })
                .Take(ProblemsShown).ToListAsync(cancellationToken).ConfigureAwait(false);
            problems.AddRange(failed.Select(p => new ProblemRecipient(p.Id, PhoneNumber.Mask(p.Mobile), p.Vendor, p.ActivityId, "report", p.Code, null)));
        }
        return problems.OrderBy(p => p.RecordId).Take(ProblemsShown).ToArray();
    }

    public async Task<VendorView> VendorsAsync(InsightsFilter filter, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var cells = InRange(db, filter, out var fromMinute, out var toMinute);
        var bucket = Math.Max(1, (toMinute - fromMinute + TimelineBuckets - 1) / TimelineBuckets);
        // One pass for the funnels, the codes and the timeline (a cell per time bucket as well).
        var rows = (await cells
            .GroupBy(c => new { Bucket = (c.Minute - fromMinute) / bucket, c.Vendor, c.Status, c.DeliveryStatus, c.Code })
            .Select(g => new
            {
                g.Key.Bucket, g.Key.Vendor, g.Key.Status, g.Key.DeliveryStatus, g.Key.Code,
                Count = g.Sum(c => c.Count), Replies = g.Sum(c => c.Replies), OptOuts = g.Sum(c => c.OptOuts), Failovers = g.Sum(c => c.Failovers),
                FeeUnits = g.Sum(c => c.FeeUnits),
            })
            .ToListAsync(cancellationToken).ConfigureAwait(false))
            .Select(c => new Cell
            {
                Bucket = c.Bucket, Vendor = c.Vendor, Status = c.Status, DeliveryStatus = NullIfEmpty(c.DeliveryStatus), Code = NullIfEmpty(c.Code),
                Count = c.Count, Replies = c.Replies, OptOuts = c.OptOuts, Failovers = c.Failovers, Fees = c.FeeUnits / InsightCellEntity.FeeScale,
            })
            .ToArray();
        var byVendor = Funnels(rows);
        var latency = await LatencyAsync(cells, cancellationToken).ConfigureAwait(false);
        var timeline = rows.GroupBy(c => (c.Bucket, c.Vendor))
            .OrderBy(g => g.Key.Bucket).ThenBy(g => g.Key.Vendor, StringComparer.Ordinal)
            .Select(g => new TimelinePoint(Minutes(fromMinute + g.Key.Bucket * bucket), g.Key.Vendor, g.Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.Accepted && c.DeliveryStatus == Delivered).Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.Accepted && c.DeliveryStatus == Failed).Sum(c => c.Count)))
            .ToArray();
        return new VendorView(Minutes(fromMinute), Minutes(toMinute), byVendor.Values.Aggregate(Funnel.Empty, (a, b) => a + b), VendorRows(byVendor, latency),
            ErrorCodes(rows), TimeSpan.FromMinutes(bucket), timeline);
    }

    public async Task<SendRecordView?> RecordAsync(long id, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var r = await Joined(db).FirstOrDefaultAsync(x => x.Id == id, cancellationToken).ConfigureAwait(false);
        return r is null
            ? null
            : new SendRecordView(r.Id, r.Vendor, r.Mobile, r.MessageId, r.InstanceId, r.DefinitionId, r.ActivityId, r.Status, r.VendorCode, r.Error, r.Fee,
                r.Attempts, Ticks(r.CreatedAtTicks), r.DeliveryStatus, r.ReportCode, r.ReportedAtTicks is { } reported ? Ticks(reported) : null,
                r.RepliedAtTicks is { } replied ? Ticks(replied) : null, r.OptedOut, r.InstanceId is null ? null : StudioInstanceUrl(r.InstanceId));
    }

    /// <summary>Each send record with its message's delivery report, if any (a LEFT JOIN on vendor and message id, both indexed).</summary>
    private static IQueryable<InsightRow> Joined(SmsActivitiesDbContext db) =>
        from r in db.SendRecords.AsNoTracking()
        join d in db.DeliveryReports.AsNoTracking() on new { r.Vendor, MessageId = r.MessageId! } equals new { d.Vendor, d.MessageId } into reports
        from d in reports.DefaultIfEmpty()
        select new InsightRow
        {
            Id = r.Id, Vendor = r.Vendor, Mobile = r.Mobile, MessageId = r.MessageId, InstanceId = r.InstanceId, ActivityId = r.ActivityId,
            DefinitionId = r.DefinitionId, Status = r.Status, VendorCode = r.VendorCode, Error = r.Error, Fee = r.Fee, Attempts = r.Attempts,
            CreatedAtTicks = r.CreatedAtTicks, RepliedAtTicks = r.RepliedAtTicks, OptedOut = r.OptedOut,
            DeliveryStatus = d == null ? null : d.Status, ReportCode = d == null ? null : d.Code, ReportedAtTicks = d == null ? null : (long?)d.ReceivedAtTicks,
        };

    /// <summary>Cells holding records (a cell whose records all moved on keeps a zero count, and its times mean nothing).</summary>
    private static IQueryable<InsightCellEntity> Counted(SmsActivitiesDbContext db) => db.InsightCells.AsNoTracking().Where(c => c.Count > 0);

    /// <summary>The cells of the filter's range, widened to whole minutes: from the minute holding <c>From</c> to the one after the minute holding <c>To</c>'s last tick.</summary>
    private static IQueryable<InsightCellEntity> InRange(SmsActivitiesDbContext db, InsightsFilter filter, out long fromMinute, out long toMinute)
    {
        var from = fromMinute = filter.From.UtcTicks / TimeSpan.TicksPerMinute;
        var to = toMinute = (filter.To.UtcTicks + TimeSpan.TicksPerMinute - 1) / TimeSpan.TicksPerMinute;
        var cells = Counted(db).Where(c => c.Minute >= from && c.Minute < to);
        if (!string.IsNullOrEmpty(filter.Vendor)) cells = cells.Where(c => c.Vendor == filter.Vendor);
        if (!string.IsNullOrEmpty(filter.DefinitionId)) cells = cells.Where(c => c.DefinitionId == filter.DefinitionId);
        return cells;
    }

    /// <summary>The grouped cells folded into one funnel per vendor.</summary>
    private static Dictionary<string, Funnel> Funnels(IEnumerable<Cell> cells)
    {
        var funnels = new Dictionary<string, Funnel>(StringComparer.Ordinal);
        foreach (var row in cells)
        {
            var accepted = row.Status == SendRecordStatus.Accepted;
            var part = new Funnel(
                Messages: row.Count,
                Queued: row.Status is SendRecordStatus.Queued or SendRecordStatus.Pending ? row.Count : 0,
                Sent: row.Status is SendRecordStatus.Accepted or SendRecordStatus.Rejected or SendRecordStatus.InDoubt ? row.Count : 0,
                Accepted: accepted ? row.Count : 0,
                Rejected: row.Status == SendRecordStatus.Rejected ? row.Count : 0,
                InDoubt: row.Status == SendRecordStatus.InDoubt ? row.Count : 0,
                Delivered: accepted && row.DeliveryStatus == Delivered ? row.Count : 0,
                Failed: accepted && row.DeliveryStatus == Failed ? row.Count : 0,
                AwaitingReport: accepted && row.DeliveryStatus != Delivered && row.DeliveryStatus != Failed ? row.Count : 0,
                Replies: row.Replies, OptOuts: row.OptOuts, Failovers: row.Failovers, Fees: row.Fees ?? 0m);
            funnels[row.Vendor] = funnels.TryGetValue(row.Vendor, out var sum) ? sum + part : part;
        }
        return funnels;
    }

    private static IReadOnlyList<VendorInsights> VendorRows(Dictionary<string, Funnel> byVendor, IReadOnlyDictionary<string, LatencyPercentiles> latency) =>
        byVendor.OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => new VendorInsights(v.Key, v.Value, v.Value.DeliveryRate, latency.GetValueOrDefault(v.Key) ?? new LatencyPercentiles(0, null, null, null)))
            .ToArray();

    private static IReadOnlyList<ErrorCodeCount> ErrorCodes(IEnumerable<Cell> cells) =>
        cells.Where(c => c.Status == SendRecordStatus.Rejected || (c.Status == SendRecordStatus.Accepted && c.DeliveryStatus == Failed))
            .GroupBy(c => (c.Vendor, Stage: c.Status == SendRecordStatus.Rejected ? "send" : "report", Code: c.Code ?? "(none)"))
            .Select(g => new ErrorCodeCount(g.Key.Vendor, g.Key.Stage, g.Key.Code, g.Sum(c => c.Count)))
            .OrderByDescending(e => e.Count).ThenBy(e => e.Code, StringComparer.Ordinal).ToArray();

    /// <summary>
    /// Send → report latency per vendor from the cells' 100 ms histogram: percentiles exact to the bucket (reported as
    /// the bucket's lower bound).
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, LatencyPercentiles>> LatencyAsync(IQueryable<InsightCellEntity> cells, CancellationToken cancellationToken)
    {
        var histogram = await cells.Where(c => c.LatencyBucket >= 0)
            .GroupBy(c => new { c.Vendor, c.LatencyBucket })
            .Select(g => new { g.Key.Vendor, Bucket = g.Key.LatencyBucket, Count = g.Sum(c => c.Count) })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return histogram.GroupBy(h => h.Vendor, StringComparer.Ordinal).ToDictionary(g => g.Key, g =>
        {
            var buckets = g.OrderBy(h => h.Bucket).Select(h => (h.Bucket, h.Count)).ToArray();
            var count = buckets.Sum(b => b.Count);
            double At(double percentile)
            {
                var rank = Math.Clamp((int)Math.Ceiling(percentile * count), 1, count);
                var seen = 0;
                foreach (var (bucket, n) in buckets)
                {
                    seen += n;
                    if (seen >= rank) return bucket * InsightCellEntity.LatencyBucketTicks / (double)TimeSpan.TicksPerSecond;
                }
                return buckets[^1].Bucket * InsightCellEntity.LatencyBucketTicks / (double)TimeSpan.TicksPerSecond;
            }
            return new LatencyPercentiles(count, At(0.50), At(0.90), At(0.99));
        }, StringComparer.Ordinal);
    }

    /// <summary>Settled over all messages; the ETA extrapolates the rate since the first send.</summary>
    private CampaignProgress Progress(Funnel funnel, long firstTicks, long lastTicks)
    {
        var now = time.GetUtcNow();
        var started = Ticks(firstTicks);
        var fraction = funnel.Messages == 0 ? 1 : (double)funnel.Settled / funnel.Messages;
        var complete = funnel.Settled >= funnel.Messages;
        TimeSpan? eta = null;
        if (!complete && fraction > 0)
        {
            var elapsed = now - started;
            eta = TimeSpan.FromSeconds(Math.Round(Math.Max(0, elapsed.TotalSeconds * (1 - fraction) / fraction)));
        }
        return new CampaignProgress(Math.Round(fraction, 4), started, lastTicks > 0 ? Ticks(lastTicks) : null, eta, complete);
    }

    private static string StudioInstanceUrl(string instanceId) => $"{StudioHosting.PathBase}/workflows/instances/{Uri.EscapeDataString(instanceId)}/view";

    private static DateTimeOffset Ticks(long ticks) => new(ticks, TimeSpan.Zero);

    private static DateTimeOffset Minutes(long minutes) => Ticks(minutes * TimeSpan.TicksPerMinute);

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;
}

/// <summary>A send record joined with its delivery report: what every insights query sums.</summary>
internal sealed class InsightRow
{
    public long Id { get; init; }
    public required string Vendor { get; init; }
    public required string Mobile { get; init; }
    public string? MessageId { get; init; }
    public string? InstanceId { get; init; }
    public string? ActivityId { get; init; }
    public string? DefinitionId { get; init; }
    public required string Status { get; init; }
    public string? VendorCode { get; init; }
    public string? Error { get; init; }
    public decimal? Fee { get; init; }
    public int Attempts { get; init; }
    public long CreatedAtTicks { get; init; }
    public long? RepliedAtTicks { get; init; }
    public bool OptedOut { get; init; }
    public string? DeliveryStatus { get; init; }
    public string? ReportCode { get; init; }
    public long? ReportedAtTicks { get; init; }
}

/// <summary>One group of the single pass over the records.</summary>
internal sealed class Cell
{
    public long Bucket { get; init; }
    public required string Vendor { get; init; }
    public string? ActivityId { get; init; }
    public required string Status { get; init; }
    public string? DeliveryStatus { get; init; }
    public string? Code { get; init; }
    public int Count { get; init; }
    public int Replies { get; init; }
    public int OptOuts { get; init; }
    public int Failovers { get; init; }
    public decimal? Fees { get; init; }
    public long FirstTicks { get; init; }
    public long LastTicks { get; init; }
    public long? LastReportTicks { get; init; }
    public string? DefinitionId { get; init; }
}
