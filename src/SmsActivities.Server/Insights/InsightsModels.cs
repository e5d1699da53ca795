namespace SmsActivities.Server.Insights;

/// <summary>What the insights queries look at: a time range of sends, optionally one vendor and one workflow definition.</summary>
public sealed record InsightsFilter(DateTimeOffset From, DateTimeOffset To, string? Vendor, string? DefinitionId);

/// <summary>
/// Send records summed, one message per record. <see cref="Sent"/> were handed to a vendor (accepted, refused or in
/// doubt); <see cref="Rejected"/> were refused at send; <see cref="InDoubt"/> may or may not have been sent;
/// <see cref="Delivered"/> and <see cref="Failed"/> are final delivery reports; <see cref="AwaitingReport"/> were
/// accepted and have no final report yet.
/// </summary>
public sealed record Funnel(
    int Messages, int Queued, int Sent, int Accepted, int Rejected, int InDoubt,
    int Delivered, int Failed, int AwaitingReport, int Replies, int OptOuts, int Failovers, decimal Fees)
{
    public static Funnel Empty { get; } = new(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0m);

    /// <summary>Messages whose fate is settled: refused, in doubt (nothing more will be learnt) or finally reported.</summary>
    public int Settled => Rejected + InDoubt + Delivered + Failed;

    /// <summary>Delivered over the messages with a final report; null before any.</summary>
    public double? DeliveryRate => Delivered + Failed == 0 ? null : (double)Delivered / (Delivered + Failed);

    public static Funnel operator +(Funnel a, Funnel b) => new(
        a.Messages + b.Messages, a.Queued + b.Queued, a.Sent + b.Sent, a.Accepted + b.Accepted, a.Rejected + b.Rejected, a.InDoubt + b.InDoubt,
        a.Delivered + b.Delivered, a.Failed + b.Failed, a.AwaitingReport + b.AwaitingReport, a.Replies + b.Replies, a.OptOuts + b.OptOuts,
        a.Failovers + b.Failovers, a.Fees + b.Fees);
}

/// <summary>Failures by code: <see cref="Stage"/> <c>send</c> (the vendor refused the request) or <c>report</c> (a failed delivery report).</summary>
public sealed record ErrorCodeCount(string Vendor, string Stage, string Code, int Count);

/// <summary>Send → report latency in seconds over the messages with a report.</summary>
public sealed record LatencyPercentiles(int Reports, double? P50, double? P90, double? P99);

public sealed record VendorInsights(string Vendor, Funnel Funnel, double? DeliveryRate, LatencyPercentiles Latency);

/// <summary>Sends per time bucket and vendor, for the timeline chart.</summary>
public sealed record TimelinePoint(DateTimeOffset Start, string Vendor, int Messages, int Delivered, int Failed);

public sealed record VendorView(
    DateTimeOffset From, DateTimeOffset To, Funnel Total, IReadOnlyList<VendorInsights> Vendors, IReadOnlyList<ErrorCodeCount> ErrorCodes,
    TimeSpan BucketSize, IReadOnlyList<TimelinePoint> Timeline);

/// <summary>A workflow instance that sent messages in the range.</summary>
public sealed record CampaignSummary(string InstanceId, string? DefinitionId, DateTimeOffset FirstSend, DateTimeOffset LastSend, int Messages);

/// <summary>One send activity of a campaign at one vendor.</summary>
public sealed record CampaignStep(string? ActivityId, string Vendor, int Messages, int Accepted, int Delivered, int Failed, int Rejected, int InDoubt);

/// <summary>A recipient whose message failed (refused or reported failed) or is in doubt; <see cref="RecordId"/> leads to its send record.</summary>
public sealed record ProblemRecipient(long RecordId, string Mobile, string Vendor, string? ActivityId, string Stage, string? Code, string? Error);

public sealed record CampaignProgress(double Fraction, DateTimeOffset Started, DateTimeOffset? LastActivity, TimeSpan? Eta, bool Complete);

public sealed record CampaignView(
    string InstanceId, string? DefinitionId, int Recipients, Funnel Funnel, IReadOnlyList<VendorInsights> Vendors, IReadOnlyList<CampaignStep> Steps,
    IReadOnlyList<ErrorCodeCount> ErrorCodes, CampaignProgress Progress, IReadOnlyList<ProblemRecipient> Problems, string StudioUrl);

/// <summary>One send record in full (the number unmasked: the caller holds the API key).</summary>
public sealed record SendRecordView(
    long Id, string Vendor, string Mobile, string? MessageId, string? InstanceId, string? DefinitionId, string? ActivityId, string Status,
    string? VendorCode, string? Error, decimal? Fee, int Attempts, DateTimeOffset CreatedAt, string? DeliveryStatus, string? ReportCode,
    DateTimeOffset? ReportedAt, DateTimeOffset? RepliedAt, bool OptedOut, string? StudioUrl);
