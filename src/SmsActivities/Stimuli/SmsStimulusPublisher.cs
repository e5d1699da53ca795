using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmsActivities.Hosting;
using SmsActivities.OptOut;
using SmsActivities.Persistence;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Runtime;

namespace SmsActivities.Stimuli;

/// <summary>What became of one push or pull: how many events were new, how many were repeats already stored.</summary>
public sealed record IngestResult(int New, int Duplicates);

/// <summary>
/// The single way vendor events enter the workflows, run by the push inbox's processor for what webhooks and pollers
/// stored there: reports go onto the send records, then each event is written to the runtime's durable stimulus store
/// (which resumes or starts the matching workflows) and counted. Replies that are an opt-out keyword put the sender on
/// the opt-out list first. Every step is safe to repeat, since an inbox row is run again after a crash.
/// </summary>
public sealed class SmsStimulusPublisher(
    WorkflowRuntime runtime,
    OptOutList optOuts,
    SmsTelemetry telemetry,
    SendRecordStore records,
    SendReportLedger ledger,
    ReportWaitMarkers waits,
    IOptions<SmsActivitiesOptions> options,
    IOptions<SmsRetentionOptions> retention,
    TimeProvider time,
    ILogger<SmsStimulusPublisher> logger)
{
    /// <summary>
    /// Publishes a whole push or poll, or a batch of them, through one batch of the runtime (one transaction records
    /// every event; the workflows they resume run side by side, after the return for reports only). Each event is still
    /// traced and counted on its own.
    /// </summary>
    public Task<IngestResult> PublishAsync(IReadOnlyList<DeliveryReport> reports, IReadOnlyList<InboundReply> replies, IReadOnlyList<EmailEvent> emailEvents, CancellationToken cancellationToken) =>
        PublishAsync(reports, replies, emailEvents, receivedAt: [], cancellationToken);

    /// <param name="receivedAt">
    /// When this server received each event (stored the push that carried it), reports first, then replies, then email
    /// events; an event beyond the list, or null, was received now. A reply's time decides whether it may answer a wait
    /// (the reply claim window) and which send it answers, so an event that waited in the push inbox keeps the time it
    /// came in, not the time it is run.
    /// </param>
    public async Task<IngestResult> PublishAsync(IReadOnlyList<DeliveryReport> reports, IReadOnlyList<InboundReply> replies, IReadOnlyList<EmailEvent> emailEvents,
        IReadOnlyList<DateTimeOffset?> receivedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reports);
        ArgumentNullException.ThrowIfNull(replies);
        ArgumentNullException.ThrowIfNull(emailEvents);
        ArgumentNullException.ThrowIfNull(receivedAt);
        var started = time.GetUtcNow();
        DateTimeOffset At(int index) => index < receivedAt.Count && receivedAt[index] is { } at && at < started ? at : started;
        var reportAt = reports.Select((_, i) => At(i)).ToArray();
        var replyAt = replies.Select((_, i) => At(reports.Count + i)).ToArray();
        var emailAt = emailEvents.Select((_, i) => At(reports.Count + replies.Count + i)).ToArray();
        foreach (var reply in replies.Where(r => IsOptOut(r.Text)))
        {
            // Before the stimuli, so a workflow started by this very reply already sees the number opted out.
            await optOuts.AddAsync(reply.Mobile, "reply: " + reply.Text.Trim(), reply.Vendor, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Opted out {Mobile} after a {Vendor} reply", PhoneNumber.Mask(reply.Mobile), reply.Vendor);
        }

        // Every variant of every event, even when the first turns out to be a duplicate: a crash before the commit left
        // the inbox row in place, and its rerun must still deliver what was not stored the first time.
        var events = new List<(int First, int Count)>();
        var stimuli = new List<Stimulus>();
        void Add(IReadOnlyList<Stimulus> variants)
        {
            events.Add((stimuli.Count, variants.Count));
            stimuli.AddRange(variants);
        }
        for (var i = 0; i < reports.Count; i++) Add(SmsStimuli.ForReport(reports[i], reportAt[i]));
        var settlements = await FindInDoubtAsync(reports, started, cancellationToken).ConfigureAwait(false);
        for (var i = 0; i < replies.Count; i++) Add(SmsStimuli.ForReply(replies[i], replyAt[i]));
        for (var i = 0; i < emailEvents.Count; i++) Add([SmsStimuli.ForEmailEvent(emailEvents[i], emailAt[i])]);
        // Reports onto the send records first: once the stimuli are in, the dispatcher may resume and finish the workflow
        // at once, and what it tells (a campaign finished) must already be on the records the insights page sums, and on
        // the records a wait on a whole send counts its progress from. The first final report of a message is kept, so a
        // repeated push changes nothing; a failure keeps the push in the inbox, to be run again, instead of losing the report.
        var sends = await records.RecordReportsAsync(reports, started, cancellationToken).ConfigureAwait(false);
        // Reports that settle a send in doubt: their records take the reported message id before the stimuli are stored,
        // so the wait those stimuli resume counts them. A crash before the stimuli are stored loses nothing: the inbox
        // row's rerun reaches the wait through the message id now on the record.
        if (settlements.Count > 0)
        {
            await records.SettleInDoubtAsync(settlements, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("{Count} recipients in doubt settled by delivery reports: the vendor had sent them", settlements.Count);
        }
        // Each report of a message on a send's records resumes the one wait on that send; waits begun before that wait
        // existed still wait on each recipient in doubt. The sends came with the reports' write; the records a settlement
        // just gave their message id are looked up after it.
        // Each send is counted once for the batch, after every write above, and its stimuli carry the counts.
        if (settlements.Count > 0)
            sends = (await ledger.SendsOfAsync(settlements.Select(s => s.Report).ToArray(), cancellationToken).ConfigureAwait(false))
                .Concat(sends).DistinctBy(s => s.Key).ToDictionary();
        KeepUnmatchedBriefly(stimuli, events, reports, replies.Count, sends, settlements);
        await KeepForWaitsByIdAsync(stimuli, events, reports, sends, cancellationToken).ConfigureAwait(false);
        var counts = await ledger.CountsAsync(sends.Values.ToArray(), cancellationToken).ConfigureAwait(false);
        var reportTimes = new Dictionary<DeliveryReport, DateTimeOffset>();
        for (var i = 0; i < reports.Count; i++) reportTimes.TryAdd(reports[i], reportAt[i]);
        var extra = reports.Select((r, i) => sends.TryGetValue((r.Vendor, r.MessageId), out var send) ? SmsStimuli.ForSendReport(r, send.Key, counts[send.Key], reportAt[i]) : null)
            .OfType<Stimulus>()
            .Concat(settlements.Select(s => SmsStimuli.ForInDoubtReport(s.Report, s.IdempotencyKey, s.Mobile, reportTimes.GetValueOrDefault(s.Report, started)))).ToArray();
        // Reports only: accepted, the waits they resume run in the runtime's dispatcher (a campaign's reports resume its
        // wait together). Replies and email events run before this returns, in order, since a reply may start a workflow
        // that waits for the next reply of the same push.
        var results = replies.Count == 0 && emailEvents.Count == 0
            ? await runtime.AcceptStimuliAsync([.. stimuli, .. extra], cancellationToken).ConfigureAwait(false)
            : await runtime.SendStimuliAsync([.. stimuli, .. extra], cancellationToken).ConfigureAwait(false);
        var fresh = 0;
        var eventResults = events.Select(e => results.Skip(e.First).Take(e.Count).ToArray()).ToArray();
        for (var i = 0; i < eventResults.Length; i++)
        {
            var isNew = eventResults[i].Any(r => !r.Duplicate);
            var runs = eventResults[i].Sum(r => r.Runs.Count + r.Queued);
            if (isNew) fresh++;
            if (i < reports.Count) TraceReport(reports[i], started, isNew, runs);
            else if (i < reports.Count + replies.Count) TraceReply(replies[i - reports.Count], started, isNew, runs);
        }
        var freshReports = reports.Select((r, i) => (Report: r, At: reportAt[i])).Where((_, i) => eventResults[i].Any(r => !r.Duplicate)).ToArray();
        var freshReplies = replies.Select((r, i) => (r.Mobile, IsOptOut(r.Text), replyAt[i])).Where((_, i) => eventResults[reports.Count + i].Any(r => !r.Duplicate)).ToArray();
        await RecordReportLatencyAsync(freshReports, cancellationToken).ConfigureAwait(false);
        await RecordRepliesAsync(freshReplies, cancellationToken).ConfigureAwait(false);
        return new IngestResult(fresh, eventResults.Length - fresh);
    }

    /// <summary>
    /// Does at start what a first batch of reports would pay for besides the writes <see cref="SendRecordStore.WarmAsync"/>
    /// rehearses: its stimuli built and its reads (the records in doubt it may settle, the sends of its messages, the wait
    /// marks, a send's counts, the send times, and the rows a wait on a send reads when it ends, alone or with its batch), for a message and a send
    /// no record has. Nothing is written, counted or traced.
    /// </summary>
    internal async Task WarmAsync(CancellationToken cancellationToken)
    {
        var at = time.GetUtcNow();
        var key = "warm-up-" + Guid.NewGuid().ToString("N");
        var report = new DeliveryReport("warm-up", key, "+8613900000000", DeliveryStatus.Delivered, null, null, at);
        var send = new SendReference(key, key, key, Zoned: true);
        GC.KeepAlive(SmsStimuli.ForReport(report, at));
        await FindInDoubtAsync([report], at, cancellationToken).ConfigureAwait(false);
        await ledger.SendsOfAsync([report], cancellationToken).ConfigureAwait(false);
        await waits.MarkedAsync([(report.Vendor, key), (ReportWaitMarkers.WholeSend, key)], cancellationToken).ConfigureAwait(false);
        var counts = await ledger.CountsAsync([send], cancellationToken).ConfigureAwait(false);
        GC.KeepAlive(SmsStimuli.ForSendReport(report, key, counts[key], at));
        await records.SentAtAsync([(report.Vendor, key)], cancellationToken).ConfigureAwait(false);
        await ledger.RowsAsync(send, includeInDoubt: true, cancellationToken).ConfigureAwait(false);
        (await ledger.ReadRowsAsync([(key, key)], cancellationToken).ConfigureAwait(false)).For(send, includeInDoubt: true);
    }

    /// <summary>
    /// The events about no message on a send record (a report of an unknown message, a reply) are kept only briefly when
    /// they match nothing (<see cref="SmsRetentionOptions.UnmatchedEvents"/>); a reply answers a wait only within the
    /// reply claim window anyway.
    /// </summary>
    private void KeepUnmatchedBriefly(List<Stimulus> stimuli, List<(int First, int Count)> events, IReadOnlyList<DeliveryReport> reports, int replies,
        IReadOnlyDictionary<(string Vendor, string MessageId), SendReference> sends, IReadOnlyList<InDoubtSettlement> settlements)
    {
        var brief = retention.Value.UnmatchedEvents;
        var reply = brief > options.Value.ReplyClaimWindow ? brief : options.Value.ReplyClaimWindow;
        var settling = settlements.Select(s => s.Report).ToHashSet();
        for (var e = 0; e < events.Count; e++)
        {
            TimeSpan keep;
            if (e < reports.Count)
            {
                if (sends.ContainsKey((reports[e].Vendor, reports[e].MessageId)) || settling.Contains(reports[e])) continue;
                keep = brief;
            }
            else if (e < reports.Count + replies) keep = reply;
            else continue;
            var (first, count) = events[e];
            for (var i = first; i < first + count; i++) stimuli[i] = stimuli[i] with { UnmatchedRetention = keep };
        }
    }

    /// <summary>
    /// A report of a message on a send record waits in the inbox under its message id only when a wait by message ids has
    /// marked that message, or its SendSms its whole send (<see cref="ReportWaitMarkers"/>); otherwise it is stored only if a bookmark takes it now. The
    /// marks are read after this batch's reports were stored, which is what lets a wait that marks its messages later
    /// find those reports itself.
    /// </summary>
    private async Task KeepForWaitsByIdAsync(List<Stimulus> stimuli, List<(int First, int Count)> events, IReadOnlyList<DeliveryReport> reports,
        IReadOnlyDictionary<(string Vendor, string MessageId), SendReference> sends, CancellationToken cancellationToken)
    {
        var onRecords = reports.Select((r, i) => (Report: r, Index: i)).Where(x => sends.ContainsKey((x.Report.Vendor, x.Report.MessageId))).ToList();
        if (onRecords.Count == 0) return;
        var marked = await waits.MarkedAsync(onRecords.Select(x => (x.Report.Vendor, x.Report.MessageId))
            .Concat(onRecords.Select(x => (ReportWaitMarkers.WholeSend, sends[(x.Report.Vendor, x.Report.MessageId)].Key))), cancellationToken).ConfigureAwait(false);
        foreach (var (report, index) in onRecords)
        {
            if (marked.Contains((report.Vendor.ToLowerInvariant(), report.MessageId))
                || marked.Contains((ReportWaitMarkers.WholeSend, sends[(report.Vendor, report.MessageId)].Key))) continue;
            // The first of a report's stimuli is the one under its message id (SmsStimuli.ForReport).
            var first = events[index].First;
            stimuli[first] = stimuli[first] with { KeepInInbox = false };
        }
    }

    private async Task<IReadOnlyList<InDoubtSettlement>> FindInDoubtAsync(IReadOnlyList<DeliveryReport> reports, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        reports.Count == 0 ? [] : await records.FindInDoubtAsync(reports, receivedAt, options.Value.InDoubtSettleWindow, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Send → first report, for the new reports of messages this plug-in sent. Only looked up while something collects
    /// the histogram; a failed lookup loses a measurement, never the push (its events are already stored).
    /// </summary>
    private async Task RecordReportLatencyAsync(IReadOnlyList<(DeliveryReport Report, DateTimeOffset ReceivedAt)> fresh, CancellationToken cancellationToken)
    {
        if (fresh.Count == 0 || !telemetry.ReportLatency.Enabled) return;
        IReadOnlyDictionary<(string Vendor, string MessageId), DateTimeOffset> sentAt;
        try
        {
            sentAt = await records.SentAtAsync(fresh.Select(r => (r.Report.Vendor, r.Report.MessageId)).ToArray(), cancellationToken).ConfigureAwait(false);
        }
        catch (System.Data.Common.DbException ex)
        {
            logger.LogWarning(ex, "Could not look up send times for report latency");
            return;
        }
        foreach (var (report, receivedAt) in fresh)
        {
            if (!sentAt.TryGetValue((report.Vendor, report.MessageId), out var sent)) continue;
            telemetry.ReportLatency.Record(Math.Max(0, (receivedAt - sent).TotalSeconds), new TagList { { "vendor", report.Vendor }, { "status", report.Status.ToString() } });
        }
    }

    /// <summary>
    /// New replies onto the latest send to their number (only new ones: a repeated reply could otherwise land on a send
    /// made since, such as the answer to the first). A failed write loses that bookkeeping, never the push: its events
    /// are already stored. A push run again after a crash finds its replies duplicates and skips them here.
    /// </summary>
    private async Task RecordRepliesAsync(IReadOnlyList<(string Mobile, bool OptOut, DateTimeOffset ReceivedAt)> replies, CancellationToken cancellationToken)
    {
        try
        {
            await records.RecordRepliesAsync(replies, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Data.Common.DbException ex)
        {
            logger.LogWarning(ex, "Could not record {Replies} replies on their send records", replies.Count);
        }
    }

    /// <returns>False when the report had been received before.</returns>
    public async Task<bool> PublishReportAsync(DeliveryReport report, CancellationToken cancellationToken) =>
        (await PublishAsync([report], [], [], cancellationToken).ConfigureAwait(false)).New > 0;

    /// <returns>False when the reply had been received before.</returns>
    public async Task<bool> PublishReplyAsync(InboundReply reply, CancellationToken cancellationToken) =>
        (await PublishAsync([], [reply], [], cancellationToken).ConfigureAwait(false)).New > 0;

    /// <summary>One span per report over the batch that carried it, so a report is still found by its message id.</summary>
    private void TraceReport(DeliveryReport report, DateTimeOffset started, bool isNew, int runs)
    {
        using (var span = SmsTelemetry.Source.StartActivity("sms.report", ActivityKind.Consumer, Activity.Current?.Context ?? default, startTime: started))
        {
            span?.SetTag("sms.vendor", report.Vendor);
            span?.SetTag("sms.message_id", report.MessageId);
            span?.SetTag("sms.status", report.Status.ToString());
            span?.SetTag("workflow.runs", runs);
        }
        if (isNew) telemetry.ReportsReceived.Add(1, new("vendor", report.Vendor), new("status", report.Status.ToString()));
    }

    private void TraceReply(InboundReply reply, DateTimeOffset started, bool isNew, int runs)
    {
        using (var span = SmsTelemetry.Source.StartActivity("sms.reply", ActivityKind.Consumer, Activity.Current?.Context ?? default, startTime: started))
        {
            span?.SetTag("sms.vendor", reply.Vendor);
            span?.SetTag("workflow.runs", runs);
        }
        if (isNew) telemetry.RepliesReceived.Add(1, new KeyValuePair<string, object?>("vendor", reply.Vendor));
    }

    public bool IsOptOut(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var trimmed = text.Trim();
        return options.Value.OptOutKeywords.Any(k => string.Equals(k.Trim(), trimmed, StringComparison.OrdinalIgnoreCase));
    }
}
