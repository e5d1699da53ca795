using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Hosting;
using SmsActivities.OptOut;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Stimuli;

/// <summary>What became of one push or pull: how many events were new, how many were repeats already stored.</summary>
public sealed record IngestResult(int New, int Duplicates);

/// <summary>
/// The single way vendor events enter the workflows, pushed (webhooks) or pulled (pollers): each event is written
/// to the runtime's durable stimulus store (which resumes or starts the matching workflows) and counted. Replies that
/// are an opt-out keyword put the sender on the opt-out list first.
/// </summary>
public sealed class SmsStimulusPublisher(
    WorkflowRuntime runtime,
    OptOutList optOuts,
    SmsTelemetry telemetry,
    IOptions<SmsActivitiesOptions> options,
    TimeProvider time,
    ILogger<SmsStimulusPublisher> logger)
{
    public async Task<IngestResult> PublishAsync(IReadOnlyList<DeliveryReport> reports, IReadOnlyList<InboundReply> replies, IReadOnlyList<EmailEvent> emailEvents, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(replies);
        ArgumentNullException.ThrowIfNull(emailEvents);
        var fresh = 0;
        var duplicates = 0;
        foreach (var report in reports)
        {
            if (await PublishReportAsync(report, cancellationToken).ConfigureAwait(false)) fresh++; else duplicates++;
        }
        foreach (var reply in replies)
        {
            if (await PublishReplyAsync(reply, cancellationToken).ConfigureAwait(false)) fresh++; else duplicates++;
        }
        foreach (var email in emailEvents)
        {
            var result = await runtime.SendStimulusAsync(SmsStimuli.ForEmailEvent(email, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
            if (result.Duplicate) duplicates++; else fresh++;
        }
        return new IngestResult(fresh, duplicates);
    }

    /// <returns>False when the report had been received before.</returns>
    public async Task<bool> PublishReportAsync(DeliveryReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var span = SmsTelemetry.Source.StartActivity("sms.report", ActivityKind.Consumer);
        span?.SetTag("sms.vendor", report.Vendor);
        span?.SetTag("sms.message_id", report.MessageId);
        span?.SetTag("sms.status", report.Status.ToString());
        var received = time.GetUtcNow();
        var (isNew, resumed) = await SendAllAsync(SmsStimuli.ForReport(report, received), cancellationToken).ConfigureAwait(false);
        if (!isNew) return false;
        telemetry.ReportsReceived.Add(1, new("vendor", report.Vendor), new("status", report.Status.ToString()));
        if (resumed) telemetry.ResumeLatency.Record((time.GetUtcNow() - received).TotalMilliseconds, new KeyValuePair<string, object?>("vendor", report.Vendor));
        return true;
    }

    /// <returns>False when the reply had been received before.</returns>
    public async Task<bool> PublishReplyAsync(InboundReply reply, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reply);
        using var span = SmsTelemetry.Source.StartActivity("sms.reply", ActivityKind.Consumer);
        span?.SetTag("sms.vendor", reply.Vendor);
        var received = time.GetUtcNow();
        if (IsOptOut(reply.Text))
        {
            // Before the stimuli, so a workflow started by this very reply already sees the number opted out.
            await optOuts.AddAsync(reply.Mobile, "reply: " + reply.Text.Trim(), reply.Vendor, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Opted out {Mobile} after a {Vendor} reply", PhoneNumber.Mask(reply.Mobile), reply.Vendor);
        }
        var (isNew, resumed) = await SendAllAsync(SmsStimuli.ForReply(reply, received), cancellationToken).ConfigureAwait(false);
        if (!isNew) return false;
        telemetry.RepliesReceived.Add(1, new KeyValuePair<string, object?>("vendor", reply.Vendor));
        if (resumed) telemetry.ResumeLatency.Record((time.GetUtcNow() - received).TotalMilliseconds, new KeyValuePair<string, object?>("vendor", reply.Vendor));
        return true;
    }

    public bool IsOptOut(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        return options.Value.OptOutKeywords.Any(k => string.Equals(k.Trim(), trimmed, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>
    /// Sends every variant, even when the first turns out to be a duplicate: a crash between variants leaves the vendor
    /// unacknowledged, and its retry must still deliver the variants that were not stored the first time.
    /// </summary>
    private async Task<(bool IsNew, bool Resumed)> SendAllAsync(IReadOnlyList<Stimulus> stimuli, CancellationToken cancellationToken)
    {
        var isNew = false;
        var resumed = false;
        foreach (var stimulus in stimuli)
        {
            var result = await runtime.SendStimulusAsync(stimulus, cancellationToken).ConfigureAwait(false);
            isNew |= !result.Duplicate;
            resumed |= result.Runs.Count > 0;
        }
        return (isNew, resumed);
    }
}
