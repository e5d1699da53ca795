using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;

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
        MessagesSent = _meter.CreateCounter<long>("sms.messages.sent", "{message}", "Recipients a vendor accepted, by vendor and channel (sms, voice_otp, email)");
        MessagesFailed = _meter.CreateCounter<long>("sms.messages.failed", "{message}", "Recipients a vendor rejected or could not take, by vendor and channel");
        MessagesInDoubt = _meter.CreateCounter<long>("sms.messages.in_doubt", "{message}", "Recipients whose send outcome is unknown (the vendor may have sent them; never sent again), by vendor and channel");
        Failovers = _meter.CreateCounter<long>("sms.failovers", "{call}", "Sends moved on to the next vendor");
        ReportsReceived = _meter.CreateCounter<long>("sms.reports.received", "{report}", "Delivery reports received, pushed or pulled");
        RepliesReceived = _meter.CreateCounter<long>("sms.replies.received", "{reply}", "Inbound SMS received, pushed or pulled");
        ResumeLatency = _meter.CreateHistogram<double>("sms.report.resume_latency", "ms", "From a report or reply received to the waiting activity resumed");
        ReportLatency = _meter.CreateHistogram<double>("sms.report.latency", "s", "From a message handed to the vendor to its first delivery report, by vendor and status",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 21600, 86400] });
        WebhookPushes = _meter.CreateCounter<long>("sms.webhook.pushes", "{push}", "Vendor pushes accepted and acknowledged, by vendor and kind");
        WebhookRejections = _meter.CreateCounter<long>("sms.webhook.rejections", "{push}", "Vendor pushes refused, by vendor, kind and reason (token, too_large, malformed, replayed, store_failed)");
        OtpVerifications = _meter.CreateCounter<long>("sms.otp.verifications", "{check}", "OTP code checks, by result (Valid, Invalid, Expired, TooManyAttempts, RateLimited)");
        InboxStoreDuration = _meter.CreateHistogram<double>("sms.inbox.store_duration", "ms",
            "From a push's events read to their inbox row committed, the write turn's wait included: what the vendor's acknowledgement waits for in the store");
        InboxDeadLettered = _meter.CreateCounter<long>("sms.inbox.dead_lettered", "{push}", "Pushes set aside after failing SmsActivities:Inbox:MaxAttempts times, by error type");
    }

    public Counter<long> MessagesSent { get; }
    public Counter<long> MessagesFailed { get; }
    public Counter<long> Failovers { get; }
    public Counter<long> ReportsReceived { get; }
    public Counter<long> RepliesReceived { get; }
    public Histogram<double> ResumeLatency { get; }
    public Histogram<double> ReportLatency { get; }
    public Histogram<double> InboxStoreDuration { get; }
    public Counter<long> WebhookPushes { get; }
    public Counter<long> WebhookRejections { get; }
    public Counter<long> OtpVerifications { get; }
    public Counter<long> InboxDeadLettered { get; }

    public Counter<long> MessagesInDoubt { get; }

    /// <summary>
    /// Counts the outcomes of one vendor call: <c>sms.messages.sent</c>, <c>.failed</c> and <c>.in_doubt</c>, tagged with
    /// the vendor and the channel (sms, voice_otp, email).
    /// </summary>
    public void RecordSent(string vendor, string channel, int accepted, int failed, int inDoubt = 0)
    {
        var tags = new TagList { { "vendor", vendor }, { "channel", channel } };
        if (accepted > 0) MessagesSent.Add(accepted, tags);
        if (failed > 0) MessagesFailed.Add(failed, tags);
        if (inDoubt > 0) MessagesInDoubt.Add(inDoubt, tags);
    }

    /// <summary>
    /// Records how long a vendor event took from reaching the webhook or poller (<c>receivedAt</c> in the stimulus
    /// input) to resuming the waiting activity.
    /// </summary>
    public void RecordResume(JsonObject? stimulusInput, DateTimeOffset now, string activity)
    {
        if (stimulusInput?["receivedAt"] is not JsonValue value || !value.TryGetValue<DateTimeOffset>(out var receivedAt)) return;
        ResumeLatency.Record((now - receivedAt).TotalMilliseconds,
            new KeyValuePair<string, object?>("vendor", stimulusInput["vendor"]?.GetValue<string>()),
            new KeyValuePair<string, object?>("activity", activity));
    }

    public void Dispose() => _meter.Dispose();
}
