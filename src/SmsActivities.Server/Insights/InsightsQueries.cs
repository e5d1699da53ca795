using Microsoft.EntityFrameworkCore;
using SmsActivities.Persistence;
using SmsActivities.ElsaStudio;
using SmsActivities.Vendors;

namespace SmsActivities.Server.Insights;

/// <summary>
/// The numbers behind the insights page, summed by the database from the send records (GROUP BY, COUNT, SUM and
/// ORDER BY/OFFSET for percentiles, all plain LINQ so SQLite and PostgreSQL both run them): a query returns tens of
/// rows whatever the number of messages. Email sends (an address for the number) are left out.
/// </summary>
public sealed class InsightsQueries(IDbContextFactory<SmsActivitiesDbContext> dbFactory, TimeProvider time)
{
    private const int ProblemsShown = 100;
    private const int CampaignsShown = 50;
    private const int TimelineBuckets = 48;
    private const long LatencyBucketTicks = TimeSpan.TicksPerMillisecond * 100;
    private static readonly string Delivered = nameof(DeliveryStatus.Delivered);
    private static readonly string Failed = nameof(DeliveryStatus.Failed);

    public async Task<IReadOnlyList<CampaignSummary>> CampaignsAsync(InsightsFilter filter, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var rows = await InRange(db, filter).Where(r => r.InstanceId != null)
            .GroupBy(r => new { r.InstanceId, r.DefinitionId })
            .Select(g => new { g.Key.InstanceId, g.Key.DefinitionId, First = g.Min(r => r.CreatedAtTicks), Last = g.Max(r => r.CreatedAtTicks), Messages = g.Count() })
            .OrderByDescending(g => g.Last).Take(CampaignsShown)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return rows.Select(r => new CampaignSummary(r.InstanceId!, r.DefinitionId, Ticks(r.First), Ticks(r.Last), r.Messages)).ToArray();
    }

    /// <returns>Null when the instance sent nothing (with this vendor).</returns>
    public async Task<CampaignView?> CampaignAsync(string instanceId, string? vendor, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var records = Sms(db).Where(r => r.InstanceId == instanceId);
        if (!string.IsNullOrEmpty(vendor)) records = records.Where(r => r.Vendor == vendor);

        // One pass for the funnel, the steps, the codes and the time span; one for the latencies; the rest are small.
        var cells = await records
            .GroupBy(r => new { r.Vendor, r.ActivityId, r.Status, r.DeliveryStatus, Code = r.Status == SendRecordStatus.Rejected ? r.VendorCode : r.DeliveryStatus == Failed ? r.ReportCode : null })
            .Select(g => new Cell
            {
                Vendor = g.Key.Vendor, ActivityId = g.Key.ActivityId, Status = g.Key.Status, DeliveryStatus = g.Key.DeliveryStatus, Code = g.Key.Code,
                Count = g.Count(), Replies = g.Count(r => r.RepliedAtTicks != null), OptOuts = g.Count(r => r.OptedOut), Failovers = g.Count(r => r.Attempts > 1),
                Fees = g.Sum(r => r.Fee), FirstTicks = g.Min(r => r.CreatedAtTicks), LastTicks = g.Max(r => r.CreatedAtTicks),
                LastReportTicks = g.Max(r => r.ReportedAtTicks), DefinitionId = g.Max(r => r.DefinitionId),
            })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        if (cells.Count == 0) return null;
        var byVendor = Funnels(cells);
        var funnel = byVendor.Values.Aggregate(Funnel.Empty, (a, b) => a + b);
        var latency = await LatencyAsync(records, cancellationToken).ConfigureAwait(false);
        var recipients = await records.Select(r => r.Mobile).Distinct().CountAsync(cancellationToken).ConfigureAwait(false);
        var problems = await records
            .Where(r => r.Status == SendRecordStatus.Rejected || r.Status == SendRecordStatus.InDoubt || r.DeliveryStatus == Failed)
            .OrderBy(r => r.Id).Take(ProblemsShown)
            .Select(r => new { r.Id, r.Mobile, r.Vendor, r.ActivityId, r.Status, r.VendorCode, r.ReportCode, r.Error })
            .ToListAsync(cancellationToken).ConfigureAwait(false);

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
            Progress(funnel, first, last),
            problems.Select(p => p.Status switch
            {
                SendRecordStatus.Rejected => new ProblemRecipient(p.Id, PhoneNumber.Mask(p.Mobile), p.Vendor, p.ActivityId, "send", p.VendorCode, p.Error),
                SendRecordStatus.InDoubt => new ProblemRecipient(p.Id, PhoneNumber.Mask(p.Mobile), p.Vendor, p.ActivityId, "in doubt", p.VendorCode, p.Error),
                _ => new ProblemRecipient(p.Id, PhoneNumber.Mask(p.Mobile), p.Vendor, p.ActivityId, "report", p.ReportCode, null),
            }).ToArray(),
            StudioInstanceUrl(instanceId));
    }

    public async Task<VendorView> VendorsAsync(InsightsFilter filter, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken).ConfigureAwait(false);
        var records = InRange(db, filter);
        var fromTicks = filter.From.UtcTicks;
        var bucket = Math.Max(TimeSpan.TicksPerMinute, (filter.To.UtcTicks - fromTicks + TimelineBuckets - 1) / TimelineBuckets);
        // One pass for the funnels, the codes and the timeline (a cell per time bucket as well).
        var cells = await records
            .GroupBy(r => new { Bucket = (r.CreatedAtTicks - fromTicks) / bucket, r.Vendor, r.Status, r.DeliveryStatus, Code = r.Status == SendRecordStatus.Rejected ? r.VendorCode : r.DeliveryStatus == Failed ? r.ReportCode : null })
            .Select(g => new Cell
            {
                Bucket = g.Key.Bucket, Vendor = g.Key.Vendor, Status = g.Key.Status, DeliveryStatus = g.Key.DeliveryStatus, Code = g.Key.Code,
                Count = g.Count(), Replies = g.Count(r => r.RepliedAtTicks != null), OptOuts = g.Count(r => r.OptedOut), Failovers = g.Count(r => r.Attempts > 1),
                Fees = g.Sum(r => r.Fee),
            })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var byVendor = Funnels(cells);
        var latency = await LatencyAsync(records, cancellationToken).ConfigureAwait(false);
        var timeline = cells.GroupBy(c => (c.Bucket, c.Vendor))
            .OrderBy(g => g.Key.Bucket).ThenBy(g => g.Key.Vendor, StringComparer.Ordinal)
            .Select(g => new TimelinePoint(Ticks(fromTicks + g.Key.Bucket * bucket), g.Key.Vendor, g.Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.Accepted && c.DeliveryStatus == Delivered).Sum(c => c.Count),
                g.Where(c => c.Status == SendRecordStatus.Accepted && c.DeliveryStatus == Failed).Sum(c => c.Count)))
            .ToArray();
        return new VendorView(filter.From, filter.To, byVendor.Values.Aggregate(Funnel.Empty, (a, b) => a + b), VendorRows(byVendor, latency),
            ErrorCodes(cells), TimeSpan.FromTicks(bucket), timeline);
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

    private static IQueryable<InsightRow> Sms(SmsActivitiesDbContext db) => Joined(db).Where(r => !r.Mobile.Contains("@"));

    private static IQueryable<InsightRow> InRange(SmsActivitiesDbContext db, InsightsFilter filter)
    {
        var from = filter.From.UtcTicks;
        var to = filter.To.UtcTicks;
        var records = Sms(db).Where(r => r.CreatedAtTicks >= from && r.CreatedAtTicks < to);
        if (!string.IsNullOrEmpty(filter.Vendor)) records = records.Where(r => r.Vendor == filter.Vendor);
        if (!string.IsNullOrEmpty(filter.DefinitionId)) records = records.Where(r => r.DefinitionId == filter.DefinitionId);
        return records;
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
    /// Send → report latency per vendor from a histogram the database counts (100 ms buckets): one pass whatever the
    /// number of messages, percentiles exact to the bucket (reported as the bucket's lower bound).
    /// </summary>
    private static async Task<IReadOnlyDictionary<string, LatencyPercentiles>> LatencyAsync(IQueryable<InsightRow> records, CancellationToken cancellationToken)
    {
        var histogram = await records.Where(r => r.ReportedAtTicks != null && r.Status == SendRecordStatus.Accepted)
            .GroupBy(r => new { r.Vendor, Bucket = (r.ReportedAtTicks!.Value - r.CreatedAtTicks) / LatencyBucketTicks })
            .Select(g => new { g.Key.Vendor, g.Key.Bucket, Count = g.Count() })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return histogram.GroupBy(h => h.Vendor, StringComparer.Ordinal).ToDictionary(g => g.Key, g =>
        {
            var buckets = g.OrderBy(h => h.Bucket).Select(h => (Bucket: Math.Max(0, h.Bucket), h.Count)).ToArray();
            var count = buckets.Sum(b => b.Count);
            double At(double percentile)
            {
                var rank = Math.Clamp((int)Math.Ceiling(percentile * count), 1, count);
                var seen = 0;
                foreach (var (bucket, n) in buckets)
                {
                    seen += n;
                    if (seen >= rank) return bucket * LatencyBucketTicks / (double)TimeSpan.TicksPerSecond;
                }
                return buckets[^1].Bucket * LatencyBucketTicks / (double)TimeSpan.TicksPerSecond;
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
