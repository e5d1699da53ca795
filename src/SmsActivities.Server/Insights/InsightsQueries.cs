using Microsoft.EntityFrameworkCore;
using SmsActivities.Persistence;
using SmsActivities.Server.Studio;
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

        var byVendor = await FunnelsByVendorAsync(records, cancellationToken).ConfigureAwait(false);
        if (byVendor.Count == 0) return null;
        var funnel = byVendor.Values.Aggregate(Funnel.Empty, (a, b) => a + b);

        var span = await records.GroupBy(_ => 1)
            .Select(g => new
            {
                First = g.Min(r => r.CreatedAtTicks),
                LastSend = g.Max(r => r.CreatedAtTicks),
                LastReport = g.Max(r => r.ReportedAtTicks),
                DefinitionId = g.Max(r => r.DefinitionId),
            })
            .FirstAsync(cancellationToken).ConfigureAwait(false);
        var recipients = await records.Select(r => r.Mobile).Distinct().CountAsync(cancellationToken).ConfigureAwait(false);

        var steps = await records.GroupBy(r => new { r.ActivityId, r.Vendor })
            .Select(g => new CampaignStep(g.Key.ActivityId, g.Key.Vendor, g.Count(),
                g.Count(r => r.Status == SendRecordStatus.Accepted),
                g.Count(r => r.DeliveryStatus == Delivered),
                g.Count(r => r.DeliveryStatus == Failed),
                g.Count(r => r.Status == SendRecordStatus.Rejected),
                g.Count(r => r.Status == SendRecordStatus.InDoubt)))
            .ToListAsync(cancellationToken).ConfigureAwait(false);

        var problems = await records
            .Where(r => r.Status == SendRecordStatus.Rejected || r.Status == SendRecordStatus.InDoubt || r.DeliveryStatus == Failed)
            .OrderBy(r => r.Id).Take(ProblemsShown)
            .Select(r => new { r.Id, r.Mobile, r.Vendor, r.ActivityId, r.Status, r.VendorCode, r.ReportCode, r.Error })
            .ToListAsync(cancellationToken).ConfigureAwait(false);

        var vendors = new List<VendorInsights>();
        foreach (var (name, vendorFunnel) in byVendor.OrderBy(v => v.Key, StringComparer.Ordinal))
            vendors.Add(new VendorInsights(name, vendorFunnel, vendorFunnel.DeliveryRate, await LatencyAsync(records.Where(r => r.Vendor == name), cancellationToken).ConfigureAwait(false)));

        return new CampaignView(
            instanceId, span.DefinitionId, recipients, funnel, vendors,
            steps.OrderBy(s => s.ActivityId, StringComparer.Ordinal).ThenBy(s => s.Vendor, StringComparer.Ordinal).ToArray(),
            await ErrorCodesAsync(records, cancellationToken).ConfigureAwait(false),
            Progress(funnel, span.First, Math.Max(span.LastSend, span.LastReport ?? 0)),
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
        var byVendor = await FunnelsByVendorAsync(records, cancellationToken).ConfigureAwait(false);
        var vendors = new List<VendorInsights>();
        foreach (var (name, funnel) in byVendor.OrderBy(v => v.Key, StringComparer.Ordinal))
            vendors.Add(new VendorInsights(name, funnel, funnel.DeliveryRate, await LatencyAsync(records.Where(r => r.Vendor == name), cancellationToken).ConfigureAwait(false)));

        var fromTicks = filter.From.UtcTicks;
        var bucket = Math.Max(TimeSpan.TicksPerMinute, (filter.To.UtcTicks - fromTicks + TimelineBuckets - 1) / TimelineBuckets);
        var timeline = await records
            .GroupBy(r => new { Bucket = (r.CreatedAtTicks - fromTicks) / bucket, r.Vendor })
            .Select(g => new { g.Key.Bucket, g.Key.Vendor, Messages = g.Count(), Delivered = g.Count(r => r.DeliveryStatus == Delivered), Failed = g.Count(r => r.DeliveryStatus == Failed) })
            .ToListAsync(cancellationToken).ConfigureAwait(false);

        return new VendorView(
            filter.From, filter.To, byVendor.Values.Aggregate(Funnel.Empty, (a, b) => a + b), vendors,
            await ErrorCodesAsync(records, cancellationToken).ConfigureAwait(false),
            TimeSpan.FromTicks(bucket),
            timeline.OrderBy(t => t.Bucket).ThenBy(t => t.Vendor, StringComparer.Ordinal)
                .Select(t => new TimelinePoint(Ticks(fromTicks + t.Bucket * bucket), t.Vendor, t.Messages, t.Delivered, t.Failed)).ToArray());
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

    /// <summary>One GROUP BY vendor, send status and report status; the handful of rows it returns are folded into funnels.</summary>
    private static async Task<Dictionary<string, Funnel>> FunnelsByVendorAsync(IQueryable<InsightRow> records, CancellationToken cancellationToken)
    {
        var rows = await records
            .GroupBy(r => new { r.Vendor, r.Status, r.DeliveryStatus })
            .Select(g => new
            {
                g.Key.Vendor, g.Key.Status, g.Key.DeliveryStatus,
                Count = g.Count(),
                Replies = g.Count(r => r.RepliedAtTicks != null),
                OptOuts = g.Count(r => r.OptedOut),
                Failovers = g.Count(r => r.Attempts > 1),
                Fees = g.Sum(r => r.Fee),
            })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var funnels = new Dictionary<string, Funnel>(StringComparer.Ordinal);
        foreach (var row in rows)
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

    private static async Task<IReadOnlyList<ErrorCodeCount>> ErrorCodesAsync(IQueryable<InsightRow> records, CancellationToken cancellationToken)
    {
        var refused = await records.Where(r => r.Status == SendRecordStatus.Rejected)
            .GroupBy(r => new { r.Vendor, r.VendorCode })
            .Select(g => new { g.Key.Vendor, Code = g.Key.VendorCode, Count = g.Count() })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        var reported = await records.Where(r => r.DeliveryStatus == Failed)
            .GroupBy(r => new { r.Vendor, r.ReportCode })
            .Select(g => new { g.Key.Vendor, Code = g.Key.ReportCode, Count = g.Count() })
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return refused.Select(r => new ErrorCodeCount(r.Vendor, "send", r.Code ?? "(none)", r.Count))
            .Concat(reported.Select(r => new ErrorCodeCount(r.Vendor, "report", r.Code ?? "(none)", r.Count)))
            .OrderByDescending(e => e.Count).ThenBy(e => e.Code, StringComparer.Ordinal).ToArray();
    }

    /// <summary>Exact percentiles: the database counts the reported messages, then sorts and picks the row at each rank.</summary>
    private static async Task<LatencyPercentiles> LatencyAsync(IQueryable<InsightRow> records, CancellationToken cancellationToken)
    {
        var latencies = records.Where(r => r.ReportedAtTicks != null).Select(r => r.ReportedAtTicks!.Value - r.CreatedAtTicks);
        var count = await latencies.CountAsync(cancellationToken).ConfigureAwait(false);
        if (count == 0) return new LatencyPercentiles(0, null, null, null);
        async Task<double> At(double percentile)
        {
            var rank = Math.Clamp((int)Math.Ceiling(percentile * count) - 1, 0, count - 1);
            var ticks = await latencies.OrderBy(t => t).Skip(rank).FirstAsync(cancellationToken).ConfigureAwait(false);
            return Math.Round(Math.Max(0, ticks) / (double)TimeSpan.TicksPerSecond, 3);
        }
        return new LatencyPercentiles(count, await At(0.50).ConfigureAwait(false), await At(0.90).ConfigureAwait(false), await At(0.99).ConfigureAwait(false));
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
