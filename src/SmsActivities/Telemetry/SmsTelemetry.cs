using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SmsActivities.Telemetry;

/// <summary>
/// Metrics and traces of the plug-in. A send's trace carries the vendor and message ids, and the
/// report that resumes it links back through the same ids, so one campaign can be followed end to end.
/// </summary>
public sealed class SmsTelemetry : IDisposable
{
    public const string Name = "SmsActivities";

    public static readonly ActivitySource Source = new(Name);

    private readonly Meter _meter;

    public SmsTelemetry(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(Name);
        MessagesSent = _meter.CreateCounter<long>("sms.messages.sent", "{message}", "Recipients a vendor accepted");
        MessagesFailed = _meter.CreateCounter<long>("sms.messages.failed", "{message}", "Recipients a vendor rejected or could not take");
        Failovers = _meter.CreateCounter<long>("sms.failovers", "{call}", "Sends moved on to the next vendor");
        ReportsReceived = _meter.CreateCounter<long>("sms.reports.received", "{report}", "Delivery reports received, pushed or pulled");
        RepliesReceived = _meter.CreateCounter<long>("sms.replies.received", "{reply}", "Inbound SMS received, pushed or pulled");
        ResumeLatency = _meter.CreateHistogram<double>("sms.report.resume_latency", "ms", "From report received to the waiting workflow resumed");
    }

    public Counter<long> MessagesSent { get; }
    public Counter<long> MessagesFailed { get; }
    public Counter<long> Failovers { get; }
    public Counter<long> ReportsReceived { get; }
    public Counter<long> RepliesReceived { get; }
    public Histogram<double> ResumeLatency { get; }

    public void Dispose() => _meter.Dispose();
}
