using System.Text.Json.Nodes;
using ActivityKind = System.Diagnostics.ActivityKind;
using Microsoft.Extensions.Options;
using SmsActivities.Hosting;
using SmsActivities.OptOut;
using SmsActivities.Otp;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Activities;

/// <summary>The result of one recipient of a SendSms, as the activity outputs it.</summary>
/// <remarks><paramref name="InDoubt"/>: not known to be accepted, but the vendor may have sent it; it was not sent again.</remarks>
/// <remarks><paramref name="Delivered"/>: what the delivery report said, when the send waited for it (Fail over on failed report); null otherwise or when none came.</remarks>
public sealed record SmsSendResult(string Mobile, string? Vendor, bool Accepted, string? MessageId, string? VendorCode, string? Error, decimal? Fee, bool OptedOut = false, bool InDoubt = false,
    bool? Delivered = null);

/// <summary>One time zone group of a SendSms with a send window: sent (<paramref name="SentAt"/>) or held (<paramref name="HeldUntil"/>).</summary>
public sealed record SmsSendGroup(IReadOnlyList<string> TimeZones, int Recipients, DateTimeOffset? SentAt, DateTimeOffset? HeldUntil, int SentCount, int FailedCount, int InDoubtCount);

[Activity(ActivityInputs.Namespace, "SMS", "Sends an SMS to one or many recipients through a configured vendor or Auto, failing over to the next vendors when a vendor refused or could not be reached. Leaves by Unknown when a vendor may have sent some messages but its answer was lost: those recipients are in doubt and were not sent again. With OTP on, a one-time code replaces {code} in the text; the code itself is never stored, output or logged. With a send window, each recipient is sent in their own local hours: those outside them are held by a durable timer and sent when their window opens.",
    DisplayName = "Send SMS")]
[FlowNode(Sent, PartiallySent, Failed, Unknown, RateLimited)]
public sealed partial class SendSms : Activity
{
    public const string Sent = "Sent";
    public const string PartiallySent = "PartiallySent";
    public const string Failed = "Failed";
    /// <summary>Some recipients are in doubt (whatever happened to the others): see <see cref="InDoubtRecipients"/>.</summary>
    public const string Unknown = "Unknown";
    /// <summary>OTP only: the number or client address asked for too many codes; nothing was sent (see RetryAfterSeconds).</summary>
    public const string RateLimited = "RateLimited";
    public const string CodePlaceholder = "{code}";
    private const string StartedElsewhere = "another run of this send started this batch first (its outcome is that run's): not sent again here";

    [Input(Description = "The vendor account, or Auto to pick by capability and the configured order.", UIHint = InputUIHints.DropDown, OptionsProvider = typeof(SmsVendorChoices), DefaultValue = "Auto", Order = 0)]
    public Input<string?>? Vendor { get; set; }

    [Input(Description = "Vendors tried in order when the first rejects, times out or is down: type each and press Enter (one chip per vendor).", UIHint = InputUIHints.MultiText, Order = 1)]
    public Input<object?>? Failover { get; set; }

    [Input(Description = "Recipients (or, instead, Resend failed of): type each number and press Enter (one chip per number), or switch to JavaScript or a variable for a list. National numbers are read in the deployment's default region (China mainland unless set); use +cc for others. For a text per recipient, give a list of objects {mobile, text} (or {mobile, templateParams} with a template): their own text or parameters replace Text or TemplateParams for them.", UIHint = InputUIHints.MultiText, Order = 2)]
    public Input<object?>? Recipients { get; set; }

    [Input(Description = "The text (with OTP on, {code} is replaced by the code). Leave empty to send a template.", UIHint = InputUIHints.MultiLine, Order = 3)]
    public Input<string?>? Text { get; set; }

    [Input(Description = "Template id at the vendor, instead of text.", Order = 4)]
    public Input<string?>? TemplateId { get; set; }

    [Input(Description = "Template parameters: a JSON object {\"name\":\"value\"}, or name=value lines; positional vendors use the order. A value {code} takes the OTP code.", UIHint = InputUIHints.JsonEditor, Order = 5)]
    public Input<object?>? TemplateParams { get; set; }

    [Input(Description = "Sign name (签名) where the vendor asks for one.", Order = 6)]
    public Input<string?>? SignName { get; set; }

    [Input(Description = "Extend code appended to the sender number, so replies can be told apart.", Order = 7)]
    public Input<string?>? Extend { get; set; }

    [Input(Description = "Business kind where the vendor asks for one.", UIHint = InputUIHints.DropDown, DefaultValue = "Notification", Order = 8)]
    public Input<SmsKind>? Kind { get; set; }

    [Input(Description = "Generate a one-time code for the (single) recipient and put it in place of {code}.", UIHint = InputUIHints.Checkbox, Category = "OTP", Order = 9)]
    public Input<bool>? Otp { get; set; }

    [Input(Description = "What the code is for; VerifyOtp must name the same purpose.", Category = "OTP", DefaultValue = "otp", Order = 10)]
    public Input<string?>? OtpPurpose { get; set; }

    [Input(Description = "The end user's address, for the per-IP OTP rate limit.", Category = "OTP", Order = 11)]
    public Input<string?>? ClientIp { get; set; }

    [Input(DisplayName = "Send window", Description = "Quiet hours: the local hours in which the SMS may be sent, as HH:mm-HH:mm (e.g. 08:00-21:00; 22:00-06:00 spans midnight). Recipients are split by their time zone: those whose window is open are sent at once, the others wait (a durable timer per opening, kept across restarts) and are sent when their own window opens; the activity completes, with one outcome for all, after the last group. Empty: send at once.",
        Category = "Send window", Order = 12)]
    public Input<string?>? SendWindow { get; set; }

    [Input(DisplayName = "Time zone", Description = "The recipients' IANA time zone for the send window (e.g. Asia/Shanghai, Europe/London). Empty: each number's own zone, told by its country and area code; UTC for a number whose zone cannot be told.",
        Category = "Send window", Order = 13)]
    public Input<string?>? TimeZone { get; set; }

    [Output(Description = "One entry per recipient, in the order given: mobile, vendor, accepted, messageId, vendorCode, error, fee, optedOut. Empty for a campaign over SmsActivities:MaxResultsInOutputs recipients (see ResultsOmitted).")]
    public Output<IReadOnlyList<SmsSendResult>> Results { get; set; } = new();

    [Output(Description = "Vendor message ids of the accepted recipients (empty when ResultsOmitted).")]
    public Output<IReadOnlyList<string>> MessageIds { get; set; } = new();

    [Output(Description = "True when the campaign was over SmsActivities:MaxResultsInOutputs recipients: Results and MessageIds are left empty to keep the workflow small; the per-recipient results are in the send records, which WaitForDeliveryReport reads.")]
    public Output<bool> ResultsOmitted { get; set; } = new();

    [Output] public Output<int> SentCount { get; set; } = new();
    [Output] public Output<int> FailedCount { get; set; } = new();
    [Output(Description = "Recipients a vendor may have sent the SMS to although its answer was lost (a 500, a timeout, or a crash during the call). They were not sent again; a delivery report for one settles it as sent (WaitForDeliveryReport waits for them too and lists them in SettledRecipients). Empty when there are more than SmsActivities:MaxResultsInOutputs: InDoubtCount counts them.")]
    public Output<IReadOnlyList<string>> InDoubtRecipients { get; set; } = new();
    [Output(Description = "How many recipients are in doubt (see InDoubtRecipients), also when that list is left empty over SmsActivities:MaxResultsInOutputs.")]
    public Output<int> InDoubtCount { get; set; } = new();
    [Output(Description = "Recipients skipped because they are on the opt-out list.")] public Output<int> OptedOutCount { get; set; } = new();
    [Output(Description = "Sum of the fees the vendors reported.")] public Output<decimal> Fee { get; set; } = new();
    [Output(Description = "Why nothing (or not everything) was sent.")] public Output<string?> Error { get; set; } = new();
    [Output(Description = "When the OTP code expires.")] public Output<DateTimeOffset?> OtpExpiresAt { get; set; } = new();
    [Output(Description = "When the send window held the send: while held, when the next time zone group's window opens; once sent, when the last held group was released (null when everything was sent at once).")]
    public Output<DateTimeOffset?> HeldUntil { get; set; } = new();
    [Output(Description = "With a send window: one entry per time zone group (recipients whose window opens together): its zones, how many recipients, when it was sent or until when it is held, and its sent, failed and in-doubt counts.")]
    public Output<IReadOnlyList<SmsSendGroup>> Groups { get; set; } = new();
    [Output(Description = "With the RateLimited outcome: seconds until a code can be asked for again (for a Retry-After header).")]
    public Output<int?> RetryAfterSeconds { get; set; } = new();

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var router = context.GetService<SmsVendorRouter>()!;
        var records = context.GetService<SendRecordStore>()!;
        var options = context.GetService<IOptions<SmsActivitiesOptions>>()!.Value;
        var ct = context.CancellationToken;

        SmsMessage message;
        string? vendor;
        IReadOnlyList<string> failover;
        LocalSendWindow? window;
        IReadOnlyList<ZoneGroup> groups;
        var key = ActivityInputs.IdempotencyKey(context.WorkflowInstanceId, Id, context.ExecutionKey);
        try
        {
            message = BuildMessage(context, options);
            if (ResendsFailed(context))
                message = message with { Recipients = await RecipientsToResendAsync(context, context.Get(ResendFailedOf)!.Trim(), key, options) };
            vendor = context.Get(Vendor);
            failover = ActivityInputs.ToList(context.Get(Failover));
            // Unknown vendors, empty text and over-long text are refused before anything is written or sent.
            var plan = router.Plan(message, vendor, failover);
            SmsBatching.Validate(message, plan.Max(s => s.MaxTextLength));
            // Every group's window is checked here, so a bad window or zone is refused before any group is sent.
            window = LocalSendWindow.Parse(context.Get(SendWindow));
            // An OTP goes to one number: it is not split (its possible zones are honoured together).
            groups = window?.Split(message.Recipients, context.Get(TimeZone), context.Now, together: context.Get(Otp)) ?? [new ZoneGroup([], message.Recipients)];
        }
        catch (VendorValidationException ex)
        {
            await FailAsync(context, ex.Message, []);
            return;
        }

        // Failing over on a failed report waits for this send's reports by message id: their reports must wait in the
        // runtime's inbox for its bookmarks, and a report can come as soon as the vendor has answered.
        if (FailoverOnFailedReport is not null && context.Get(FailoverOnFailedReport))
            await context.GetService<ReportWaitMarkers>()!.MarkSendAsync(key, ct);
        // One group (no window, one zone, a given zone, or OTP) keeps the execution's own key; several send under a key
        // each, so each group's records tell whether it was sent and a re-run sends only the groups that were not.
        var split = groups.Count > 1;
        var owner = SendOwner.Of(context, Id);
        var finished = new List<(ZoneGroup Group, SendOutputs Outputs)>();
        var held = new List<(ZoneGroup Group, DateTimeOffset OpensAt)>();
        foreach (var group in groups)
        {
            var groupKey = split ? SendRecordStore.SendZoneKey(key, group.Key) : key;
            // One query before any vendor call: an earlier attempt under this key and the group's opted-out recipients (a
            // group that went nowhere, every recipient opted out, has its outputs kept without records and is found too).
            var send = await SendOnce<SendOutputs>.FindAsync(records, owner, groupKey, group.Recipients.Select(r => r.E164).ToArray(), ct);
            if (send.Completed is { } completed)
            {
                // This group was sent already (by an earlier wake-up, or by this very execution before a crash kept the
                // workflow from committing): what it completed with is replayed, and no vendor is called.
                finished.Add((group, completed));
                continue;
            }
            var opensAt = window?.NextOpening(context.Now, group.Zones) ?? context.Now;
            if (send.Prior is null && opensAt > context.Now)
            {
                // Nothing was sent for this group yet: it waits for its window (a send already begun is finished at once).
                held.Add((group, opensAt));
                continue;
            }
            var (outputs, recorded) = await SendAsync(context, message with { Recipients = group.Recipients }, send, vendor, failover);
            // A group refused before any record was begun keeps its outputs, so a re-run finds it done with the others.
            if (split && !recorded) await send.KeepUnsentAsync(outputs, ct);
            finished.Add((group, outputs));
        }

        if (window is not null) context.Set(Groups, Describe(finished, held));
        if (held.Count > 0)
        {
            var next = held.Min(h => h.OpensAt);
            context.Set(HeldUntil, next);
            context.Log($"SendSms held by its send window until {next:O}: {held.Sum(h => h.Group.Recipients.Count)} recipient(s) in {held.Count} time zone group(s) wait, {finished.Sum(f => f.Group.Recipients.Count)} sent", new { heldUntil = next });
            context.CreateBookmark(new JsonObject { ["heldUntil"] = next.ToString("O") }, OnWindowOpenAsync, dueAt: next);
            return;
        }
        // A completed execution replayed after a crash goes the same way: for an OTP, the challenge issued then stays the one to verify.
        var keys = split ? finished.SelectMany(f => f.Group.Recipients.Select(r => (r.E164, Key: SendRecordStore.SendZoneKey(key, f.Group.Key))))
            .ToDictionary(p => p.E164, p => p.Key, StringComparer.Ordinal) : null;
        await FinishAsync(context, split ? Combine(message.Recipients, finished.Select(f => f.Outputs).ToArray()) : finished[0].Outputs,
            router.Plan(message, vendor, failover), key, keys);
    }

    /// <summary>Sends <paramref name="message"/> (one zone group, or the whole send) as <paramref name="send"/>, resuming an interrupted attempt.</summary>
    /// <returns>The outputs, and whether they were completed with records (false: refused before any was begun).</returns>
    private async Task<(SendOutputs Outputs, bool Recorded)> SendAsync(ActivityExecutionContext context, SmsMessage message, SendOnce<SendOutputs> send,
        string? vendor, IReadOnlyList<string> failover)
    {
        var router = context.GetService<SmsVendorRouter>()!;
        var ct = context.CancellationToken;
        var (key, prior, optedOut) = (send.Key, send.Prior, send.OptedOut);

        var callerOrder = message.Recipients.Select(r => r.E164).ToArray();
        var toSend = message.Recipients.Where(r => !optedOut.Contains(r.E164)).ToArray();
        var skipped = message.Recipients.Where(r => optedOut.Contains(r.E164))
            .Select(r => new SmsSendResult(r.E164, null, false, null, null, "opted out", null, OptedOut: true)).ToArray();
        // An execution of this send died before it completed (a crash before the workflow committed).
        var resumed = send.Interrupted;
        // Opted out since an interrupted attempt may still have reached them: that attempt is finished below (in doubt) all the same.
        if (toSend.Length == 0 && !resumed) return (Refused(context, "every recipient is on the opt-out list", skipped), false);

        message = message with { Recipients = toSend, IdempotencyKey = key };

        OtpIssued? issued = null;
        if (context.Get(Otp) && !resumed)
        {
            if (toSend.Length != 1) return (Refused(context, "recipients: OTP sends go to exactly one recipient", skipped), false);
            // The one recipient's own text or parameters, if given, become the message's, so {code} is found and replaced there.
            message = SmsBatching.SplitByContent(message)[0].Message;
            var usesCode = (message.Text?.Contains(CodePlaceholder, StringComparison.Ordinal) ?? false)
                           || message.TemplateParams.Any(p => p.Value.Contains(CodePlaceholder, StringComparison.Ordinal));
            if (!usesCode) return (Refused(context, "text: with OTP on, the text or a template parameter must contain {code}", skipped), false);
            var result = await context.GetService<OtpService>()!.IssueAsync(toSend[0].E164, Purpose(context.Get(OtpPurpose)), context.Get(ClientIp), cancellationToken: ct);
            if (result.Refused is { } refusal)
            {
                context.Set(RetryAfterSeconds, OtpRetry.Seconds(refusal.RetryAfter, context.GetService<TimeProvider>()!));
                return (new SendOutputs([.. skipped], 0, 0, skipped.Length, 0m, $"OTP refused: {refusal.Rule}", null, RateLimited), false);
            }
            issued = result.Issued!;
            context.MarkSecret(issued.Code);
            // The code lives only in this in-memory message; the journal shows the inputs, which hold "{code}".
            message = message with
            {
                Text = message.Text?.Replace(CodePlaceholder, issued.Code, StringComparison.Ordinal),
                TemplateParams = message.TemplateParams.Select(p => new KeyValuePair<string, string>(p.Key, p.Value.Replace(CodePlaceholder, issued.Code, StringComparison.Ordinal))).ToArray(),
                Kind = SmsKind.Verification,
            };
        }

        using var span = SmsTelemetry.Source.StartActivity("sms.send_activity", ActivityKind.Internal);
        span?.SetTag("workflow.instance_id", context.WorkflowInstanceId);
        span?.SetTag("workflow.activity_id", Id);
        span?.SetTag("sms.recipients", toSend.Length);

        var first = router.Plan(message, vendor, failover)[0];
        // Large sends go to the vendors batch by batch, each batch's records settled as soon as it is answered, so a
        // crash leaves only the batch inside the vendor call in doubt. A send of one batch keeps to one write before the call.
        var batchSize = Math.Max(1, first.MaxRecipientsPerCall);
        var batched = toSend.Length > batchSize;
        var outcomes = new List<SmsRecipientOutcome>(toSend.Length);
        // Outcomes whose records are settled with the completed outputs: the whole send when it is one batch, else only
        // the recipients found in doubt after an interruption (each batch's records are settled as it is answered).
        var settleAtEnd = new List<SmsRecipientOutcome>();
        HashSet<string> toAttempt;
        // Begun now, or (resumed) what the interrupted attempt left Pending marked in doubt.
        await send.StartAsync(first.Vendor, toSend.Select(r => r.E164).ToArray(), ct, batched);
        if (resumed)
        {
            // Recipients whose batch was answered keep that answer; those of the batch that was inside the vendor call are
            // in doubt (sending again could message them twice: not every vendor dedupes), and the workflow is told; those
            // whose batch was never handed to a vendor are sent now.
            const string interrupted = "a previous attempt of this send was interrupted inside the vendor call: the outcome is unknown, so it was not sent again";
            outcomes.AddRange(prior!.Settled);
            settleAtEnd.AddRange(prior.InDoubt.Select(m => new SmsRecipientOutcome(m, first.Vendor, false, null, null, interrupted, null, 1, InDoubt: true)));
            outcomes.AddRange(settleAtEnd);
            var known = outcomes.Select(o => o.Mobile).Concat(prior.NeverAttempted).ToHashSet(StringComparer.Ordinal);
            toAttempt = prior.NeverAttempted.Concat(toSend.Select(r => r.E164).Where(m => !known.Contains(m))).ToHashSet(StringComparer.Ordinal);
            context.Log($"SendSms resumed after an interruption: {prior.Settled.Count} recipient(s) answered before, {prior.InDoubt.Count} in doubt, {toAttempt.Count} never attempted");
        }
        else toAttempt = toSend.Select(r => r.E164).ToHashSet(StringComparer.Ordinal);

        // Each batch keeps its index (part of its vendor idempotency key) whether or not an interruption already settled it.
        var batches = toSend.Chunk(batchSize)
            .Select((chunk, index) => (Index: index, Recipients: chunk.Where(r => toAttempt.Contains(r.E164)).ToArray()))
            .Where(b => b.Recipients.Length > 0).ToArray();
        var ids = batched && batches.Length > 0 ? await send.RecordIdsAsync(ct) : null;
        var answers = new IReadOnlyList<SmsRecipientOutcome>[batches.Length];
        async ValueTask SendBatchAsync(int i)
        {
            var (index, batch) = batches[i];
            // Marked Pending in a commit of its own just before the call: a crash after it reports this batch in doubt,
            // one before it leaves the batch never attempted, to be sent on the re-run. A batch another run started
            // first is in that run's hands (sending it here too could reach each recipient twice): in doubt here.
            if (ids is not null && !await send.StartBatchAsync(RecordIds(ids, batch), ct))
            {
                answers[i] = batch.Select(r => new SmsRecipientOutcome(r.E164, first.Vendor, false, null, null, StartedElsewhere, null, 1, InDoubt: true)).ToArray();
                return;
            }
            RoutedSendResult answered;
            try
            {
                answered = await router.SendAsync(message with { Recipients = batch, IdempotencyKey = batched ? $"{key}-b{index}" : key }, vendor, failover, ct);
            }
            catch (VendorValidationException ex)
            {
                // A rule of the vendor layer the plug-in could not check beforehand; nothing was sent.
                answered = new RoutedSendResult(batch.Select(r => new SmsRecipientOutcome(r.E164, first.Vendor, false, null, "invalid", ex.Message, null, 1)).ToArray());
            }
            // A vendor could echo the text in an error: the code is blanked out of everything kept, records included.
            if (issued is not null) answered = new RoutedSendResult(answered.Recipients.Select(r => r with { Error = Scrub(r.Error, issued) }).ToArray());
            if (ids is not null) await send.SettleBatchAsync(answered.Recipients, ct);
            answers[i] = answered.Recipients;
        }
        // A campaign's batches go out side by side, as many at once as the first vendor allows, each with its own Pending
        // commit and settle: a crash leaves in doubt exactly the batches inside a call. A failing batch stops new ones from
        // starting but lets those in flight finish and settle (they run on the activity's token, not the loop's).
        var parallel = ids is null ? 1 : Math.Max(1, first.MaxConcurrentCalls);
        if (parallel == 1 || batches.Length == 1)
            for (var i = 0; i < batches.Length; i++) await SendBatchAsync(i);
        else
            await Parallel.ForAsync(0, batches.Length, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = ct }, (i, _) => SendBatchAsync(i));
        foreach (var answered in answers)
        {
            if (ids is null) settleAtEnd.AddRange(answered);
            outcomes.AddRange(answered);
        }

        var routed = new RoutedSendResult(outcomes);
        // A code that may have reached the handset stays verifiable.
        if (issued is not null && routed.AcceptedCount == 0 && routed.InDoubtCount == 0) await context.GetService<OtpService>()!.WithdrawAsync(issued.ChallengeId, ct);

        var sent = routed.Recipients.Select(r => new SmsSendResult(r.Mobile, r.Vendor, r.Accepted, r.MessageId, r.VendorCode, r.Error, r.Fee, InDoubt: r.InDoubt)).ToArray();
        // A recipient opted out since an interrupted attempt sent to it still shows what was sent.
        var byMobile = skipped.Concat(sent).GroupBy(r => r.Mobile, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
        span?.SetTag("sms.message_ids", string.Join(",", sent.Where(s => s.MessageId != null).Select(s => $"{s.Vendor}:{s.MessageId}")));
        var outputs = new SendOutputs(
            callerOrder.Select(m => byMobile[m]).ToArray(), routed.AcceptedCount, routed.FailedCount, skipped.Length, routed.TotalFee,
            sent.FirstOrDefault(r => !r.Accepted)?.Error ?? (skipped.Length > 0 ? "some recipients are on the opt-out list" : null),
            issued is not null && routed.AcceptedCount + routed.InDoubtCount > 0 ? issued.ExpiresAt : null,
            routed.InDoubtCount > 0 ? Unknown : routed.AcceptedCount == 0 ? Failed : routed.FailedCount > 0 || skipped.Length > 0 ? PartiallySent : Sent,
            context.Now);
        await send.CompleteAsync(settleAtEnd, outputs, ct);
        return (outputs, true);
    }

    /// <summary>
    /// The message as the inputs give it now, before opt-outs and OTP. Built again from the same inputs by a failover
    /// after a failed report, so the text itself is never kept in the workflow's state.
    /// </summary>
    private SmsMessage BuildMessage(ActivityExecutionContext context, SmsActivitiesOptions options)
    {
        // With Resend failed of, the recipients are read from the send records (RecipientsToResendAsync); a failover after
        // a failed report names its own.
        IReadOnlyList<(PhoneNumber Number, RecipientContent? Content)> entries = ResendsFailed(context)
            ? []
            : ActivityInputs.ParseRecipientEntries(context.Get(Recipients), ActivityInputs.Region(context));
        if (entries.Count > options.MaxRecipientsPerSend)
            throw new VendorValidationException("recipients", $"at most {options.MaxRecipientsPerSend} recipients per SendSms, got {entries.Count}");
        return new SmsMessage
        {
            Recipients = entries.Select(e => e.Number).DistinctBy(r => r.E164).ToArray(),
            PerRecipient = PerRecipient(entries),
            Text = context.Get(Text),
            TemplateId = context.Get(TemplateId),
            TemplateParams = ActivityInputs.ToTemplateParams(context.Get(TemplateParams)),
            SignName = context.Get(SignName),
            Extend = context.Get(Extend),
            Kind = context.Get(Kind),
        };
    }

    /// <summary>A timer that fires late (the server was down) may find the window closed again: the send is checked anew.</summary>
    private ValueTask OnWindowOpenAsync(ActivityExecutionContext context) => ExecuteAsync(context);

    /// <summary>Everything a send completes with: set live, and stored with the send records to be replayed by a repeated execution.</summary>
    /// <remarks><paramref name="SentAt"/>: when the send went out (absent from outputs stored by earlier versions).</remarks>
    private sealed record SendOutputs(SmsSendResult[] Results, int SentCount, int FailedCount, int OptedOutCount, decimal Fee, string? Error, DateTimeOffset? OtpExpiresAt, string Outcome,
        DateTimeOffset? SentAt = null);

    /// <summary>The zone groups' outputs as one send's: results in the caller's order, counts and fees summed, one outcome.</summary>
    private static SendOutputs Combine(IReadOnlyList<PhoneNumber> callerOrder, IReadOnlyList<SendOutputs> parts)
    {
        var byMobile = parts.SelectMany(p => p.Results).ToDictionary(r => r.Mobile, StringComparer.Ordinal);
        var results = callerOrder.Select(r => byMobile[r.E164]).ToArray();
        var (sent, failed) = (parts.Sum(p => p.SentCount), parts.Sum(p => p.FailedCount));
        var outcome = parts.Any(p => p.Outcome == Unknown) ? Unknown
            : sent == 0 ? Failed
            : parts.All(p => p.Outcome == Sent) ? Sent : PartiallySent;
        return new SendOutputs(results, sent, failed, parts.Sum(p => p.OptedOutCount), parts.Sum(p => p.Fee),
            results.FirstOrDefault(r => !r.Accepted && !r.OptedOut)?.Error ?? parts.Select(p => p.Error).FirstOrDefault(e => e is not null), null, outcome,
            parts.Max(p => p.SentAt));
    }

    private static SmsSendGroup[] Describe(IEnumerable<(ZoneGroup Group, SendOutputs Outputs)> finished, IEnumerable<(ZoneGroup Group, DateTimeOffset OpensAt)> held) =>
        finished.Select(f => new SmsSendGroup(Zones(f.Group), f.Group.Recipients.Count, f.Outputs.SentAt, null,
                f.Outputs.SentCount, f.Outputs.FailedCount, f.Outputs.Results.Count(r => r.InDoubt)))
            .Concat(held.Select(h => new SmsSendGroup(Zones(h.Group), h.Group.Recipients.Count, null, h.OpensAt, 0, 0, 0)))
            .ToArray();

    private static string[] Zones(ZoneGroup group) => group.Zones.Select(z => z.Id).ToArray();


    /// <param name="campaign">The send was over the outputs limit, whatever the number of <paramref name="outputs"/>' results (opted-out recipients left out).</param>
    private async ValueTask CompleteAsync(ActivityExecutionContext context, SendOutputs outputs, IReadOnlyList<string>? failedOver = null, bool campaign = false)
    {
        // A campaign's per-recipient lists would make the instance state (read and written on every later resume) grow
        // with its size; over the limit they stay in the send records only.
        var limit = context.GetService<IOptions<SmsActivitiesOptions>>()!.Value.MaxResultsInOutputs;
        var omitted = campaign || outputs.Results.Length > limit;
        IReadOnlyList<string> Capped(IReadOnlyList<string> items) => omitted && items.Count > limit ? [] : items;
        context.Set(Results, omitted ? [] : outputs.Results);
        context.Set(MessageIds, omitted ? [] : outputs.Results.Where(r => r.Accepted && r.MessageId != null).Select(r => r.MessageId!).ToArray());
        context.Set(ResultsOmitted, omitted);
        context.Set(SentCount, outputs.SentCount);
        context.Set(FailedCount, outputs.FailedCount);
        // Capped like the other lists (a campaign's 500s can doubt thousands); InDoubtCount stays whole. A WaitForDeliveryReport
        // after it reads the list to tell who a report settled: past the limit it names none.
        var inDoubt = outputs.Results.Where(r => r.InDoubt).Select(r => r.Mobile).ToArray();
        context.Set(InDoubtRecipients, Capped(inDoubt));
        context.Set(InDoubtCount, inDoubt.Length);
        context.Set(OptedOutCount, outputs.OptedOutCount);
        context.Set(Fee, outputs.Fee);
        context.Set(Error, outputs.Error);
        context.Set(OtpExpiresAt, outputs.OtpExpiresAt);
        context.Set(FailedOverRecipients, Capped(failedOver ?? []));
        context.Set(UndeliveredRecipients, Capped(outputs.Results.Where(r => r.Delivered == false).Select(r => r.Mobile).ToArray()));
        await context.CompleteActivityAsync(outputs.Outcome);
    }

    /// <summary>
    /// The contents recipients were given of their own, by number; null when none was. A number listed twice must be
    /// given the same content both times (it is sent once).
    /// </summary>
    private static Dictionary<string, RecipientContent>? PerRecipient(IReadOnlyList<(PhoneNumber Number, RecipientContent? Content)> entries)
    {
        if (entries.All(e => e.Content is null)) return null;
        var contents = new Dictionary<string, RecipientContent>(StringComparer.Ordinal);
        var seen = new Dictionary<string, RecipientContent?>(StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++)
        {
            var (number, content) = entries[i];
            if (seen.TryGetValue(number.E164, out var earlier))
            {
                if (!SameContent(earlier, content))
                    throw new VendorValidationException($"recipients[{i}]", $"{PhoneNumber.Mask(number.E164)} is listed twice with different content; it is sent once");
                continue;
            }
            seen[number.E164] = content;
            if (content is not null) contents[number.E164] = content;
        }
        return contents;
    }

    private static bool SameContent(RecipientContent? a, RecipientContent? b) =>
        a?.Text == b?.Text
        && (a?.TemplateParams ?? []).SequenceEqual(b?.TemplateParams ?? []);

    private static long[] RecordIds(IReadOnlyDictionary<string, long> ids, PhoneNumber[] recipients) =>
        recipients.Select(r => ids.TryGetValue(r.E164, out var id) ? id : (long?)null).OfType<long>().ToArray();

    internal static string Purpose(string? purpose) => string.IsNullOrWhiteSpace(purpose) ? "otp" : purpose.Trim();

    /// <summary>A vendor could echo the text in an error: the code is blanked out of anything the workflow keeps.</summary>
    private static string? Scrub(string? error, OtpIssued? issued) =>
        error is null || issued is null ? error : error.Replace(issued.Code, "******", StringComparison.Ordinal);

    private ValueTask FailAsync(ActivityExecutionContext context, string error, IReadOnlyList<SmsSendResult> skipped) =>
        CompleteAsync(context, Refused(context, error, skipped));

    private static SendOutputs Refused(ActivityExecutionContext context, string error, IReadOnlyList<SmsSendResult> skipped)
    {
        context.Log("SendSms refused: " + error);
        return new SendOutputs([.. skipped], 0, 0, skipped.Count, 0m, error, null, Failed, context.Now);
    }
}
