using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using SmsActivities.Hosting;
using SmsActivities.OptOut;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Stimuli;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Activities;

/// <summary>
/// Failover on a failed delivery report: the send waits for the report of each message a vendor took (or may have
/// taken: a recipient in doubt) while a further vendor is left in its plan, and a report saying "not delivered" sends
/// that recipient through the next vendor, once. The attempt is written onto the recipient's send record (the next
/// vendor, Pending) in a commit of its own before that vendor is called, so a repeated report or a re-run after a crash
/// finds it begun and never calls a vendor twice; a crash inside that call leaves the recipient in doubt, as any send.
/// The text is built again from the activity's inputs when the failover is made: no text is kept in the workflow's
/// state. An OTP's text held a code that exists nowhere else, so an OTP send fails over nothing: a failed report ends
/// the wait with the recipient undelivered, for the flow to issue a new code.
/// </summary>
public sealed partial class SendSms
{
    private const string ReportWaitKey = "reportWait";
    private const string ReportWaitTimerName = "SmsActivities.SendSms.ReportWait";
    private static readonly TimeSpan DefaultReportWait = TimeSpan.FromMinutes(10);

    [Input(DisplayName = "Fail over on failed report",
        Description = "Wait for the delivery report of each message (and of each recipient in doubt) while a failover vendor is left, and send a recipient whose report says not delivered through the next vendor, once. The step completes when every report came or the report wait is over. With OTP on, nothing is sent again (the code is never kept): the recipient is listed in UndeliveredRecipients for the flow to send a new code. Over SmsActivities:MaxResultsInOutputs recipients (a campaign), the step waits until every message, failovers included, has its report.",
        UIHint = InputUIHints.Checkbox, Category = "Failover", Order = 14)]
    public Input<bool>? FailoverOnFailedReport { get; set; }

    [Input(DisplayName = "Report wait", Description = "With Fail over on failed report: how long to wait for the reports (e.g. 00:10:00) before completing with what is known. Empty: 10 minutes.",
        Category = "Failover", DefaultValue = "00:10:00", Order = 15)]
    public Input<TimeSpan?>? FailoverReportTimeout { get; set; }

    [Output(Description = "Recipients sent again through the next vendor after a delivery report said not delivered (Fail over on failed report).")]
    public Output<IReadOnlyList<string>> FailedOverRecipients { get; set; } = new();

    [Output(Description = "Recipients whose last delivery report said not delivered, with no vendor left to try (Fail over on failed report); they count as failed.")]
    public Output<IReadOnlyList<string>> UndeliveredRecipients { get; set; } = new();

    /// <summary>One message whose report is awaited: by message id, or by number for a recipient in doubt (<paramref name="MessageId"/> null).</summary>
    private sealed record ReportWatch(string Mobile, string Vendor, string? MessageId);

    /// <summary>The wait's state: the plan's vendor names, the send's idempotency key, the watches, the outputs so far and who failed over.</summary>
    /// <remarks><paramref name="Keys"/>: a send split by its send window has a key per time zone group, by number (null: <paramref name="SendKey"/> for all).</remarks>
    /// <remarks><paramref name="Held"/>: failovers decided while the recipient's send window was closed, sent when it opens.</remarks>
    private sealed record ReportWait(string[] Plan, string SendKey, ReportWatch[] Watches, SendOutputs Outputs, string[] FailedOver, Dictionary<string, string>? Keys = null,
        HeldFailover[]? Held = null, bool ReportsOver = false)
    {
        public string KeyOf(string mobile) => Keys?.GetValueOrDefault(mobile) ?? SendKey;

        public bool Done => Watches.Length == 0 && (Held?.Length ?? 0) == 0;
    }

    /// <summary>A recipient to fail over to <paramref name="Next"/> once its send window opens (<paramref name="OpensAt"/>).</summary>
    private sealed record HeldFailover(string Mobile, string Next, DateTimeOffset OpensAt);

    /// <summary>Completes the send, or (Fail over on failed report) begins waiting for the reports of its messages.</summary>
    private async ValueTask FinishAsync(ActivityExecutionContext context, SendOutputs outputs, IReadOnlyList<ISmsSender> plan, string sendKey, Dictionary<string, string>? keys = null)
    {
        var names = plan.Select(p => p.Vendor).ToArray();
        var watches = FailoverOnFailedReport is not null && context.Get(FailoverOnFailedReport)
            ? outputs.Results.Select(r => WatchFor(r, names)).OfType<ReportWatch>().ToArray()
            : [];
        if (watches.Length == 0)
        {
            await CompleteAsync(context, outputs);
            return;
        }
        // The wait reads and marks the records the send just settled: the settle is written first, not with the run's commit.
        await context.WriteCommitWritesAloneAsync();
        var until = context.Now + (context.Get(FailoverReportTimeout) ?? DefaultReportWait);
        if (outputs.Results.Length > context.GetService<IOptions<SmsActivitiesOptions>>()!.Value.MaxResultsInOutputs)
        {
            // A campaign: one bookmark on the whole send, and the per-recipient state in the send records, not in the workflow.
            await WaitForCampaignReportsAsync(context, outputs, names, sendKey, keys, until);
            return;
        }
        var wait = new ReportWait(names, sendKey, watches, outputs, [], keys);
        context.SetProperty(ReportWaitKey, wait);
        foreach (var watch in watches) Watch(context, wait.KeyOf(watch.Mobile), watch);
        context.CreateBookmark(new JsonObject { ["activityInstanceId"] = context.Id, ["reportsUntil"] = until.ToString("O") }, OnReportWaitOverAsync, until, ReportWaitTimerName);
        context.Log($"SendSms waits until {until:O} for {watches.Length} delivery report(s), to fail over a recipient whose report says not delivered");
    }

    /// <summary>What to wait for on this result: a message a vendor took or may have taken, while a vendor after it is left.</summary>
    private static ReportWatch? WatchFor(SmsSendResult result, IReadOnlyList<string> plan) =>
        result.Vendor is { } vendor && NextAfter(plan, vendor) is not null && (result.InDoubt || (result.Accepted && result.MessageId is not null))
            ? new ReportWatch(result.Mobile, vendor, result.InDoubt ? null : result.MessageId)
            : null;

    private static string? NextAfter(IReadOnlyList<string> plan, string vendor)
    {
        var index = plan.ToList().FindIndex(v => string.Equals(v, vendor, StringComparison.OrdinalIgnoreCase));
        return index >= 0 && index + 1 < plan.Count ? plan[index + 1] : null;
    }

    /// <summary>The bookmark a report of this message resumes: the report's own (by message id), or the settlement of a recipient in doubt.</summary>
    private void Watch(ActivityExecutionContext context, string sendKey, ReportWatch watch)
    {
        object payload = watch.MessageId is null ? new InDoubtReportBookmark(sendKey, watch.Mobile) : DeliveryReportBookmark.For(watch.Vendor, watch.MessageId);
        context.CreateBookmark(payload, OnFailoverReportAsync, name: SmsStimuli.WaitForDeliveryReport);
    }

    private async ValueTask OnFailoverReportAsync(ActivityExecutionContext context)
    {
        var wait = context.GetProperty<ReportWait>(ReportWaitKey)!;
        var report = DeliveryReportInput.From(context.ResumeInput);
        var inDoubtMobile = context.ResumedBookmark?.Payload?["send"] is not null ? context.ResumedBookmark.Payload["mobile"]?.GetValue<string>() : null;
        var watch = wait.Watches.FirstOrDefault(w => inDoubtMobile is not null
            ? w.MessageId is null && w.Mobile == inDoubtMobile
            : w.MessageId == report.MessageId && string.Equals(w.Vendor, report.Vendor, StringComparison.OrdinalIgnoreCase));
        if (watch is null) return;
        if (!Enum.TryParse<DeliveryStatus>(report.Status, out var status) || status == DeliveryStatus.Unknown)
        {
            // Not final yet: wait on for the final report of the same message.
            Watch(context, wait.KeyOf(watch.Mobile), watch);
            return;
        }

        var watches = wait.Watches.Where(w => w != watch).ToList();
        var held = (wait.Held ?? []).ToList();
        var results = wait.Outputs.Results.ToArray();
        var index = Array.FindIndex(results, r => r.Mobile == watch.Mobile);
        // The report shows the vendor took the message (for a recipient in doubt, that it did send it).
        var reported = results[index] with { Vendor = watch.Vendor, Accepted = true, InDoubt = false, MessageId = report.MessageId, Error = null };
        var failedOver = wait.FailedOver;
        if (status == DeliveryStatus.Delivered)
        {
            results[index] = reported with { Delivered = true };
        }
        else if (NextAfter(wait.Plan, watch.Vendor) is not { } next || context.Get(Otp))
        {
            results[index] = reported with { Delivered = false, Error = $"not delivered ({report.VendorCode ?? report.Description ?? "no reason given"}); no vendor left to fail over to" + (context.Get(Otp) ? " for a one-time code" : "") };
        }
        else
        {
            var failed = reported with { Delivered = false, Error = $"not delivered by {watch.Vendor} ({report.VendorCode ?? report.Description ?? "no reason given"})" };
            results[index] = failed;
            if (WindowOpening(context, watch.Mobile) is { } opensAt)
            {
                // Quiet hours hold a failover as they hold a send: it goes when the recipient's window opens.
                if (!held.Any(h => h.OpensAt == opensAt)) HoldUntil(context, opensAt, OnFailoverWindowOpenAsync);
                held.Add(new HeldFailover(watch.Mobile, next, opensAt));
                context.Log($"SendSms holds the failover of {PhoneNumber.Mask(watch.Mobile)} to {next} until its send window opens at {opensAt:O}");
            }
            else
            {
                results[index] = await FailOverAsync(context, wait.Plan, wait.KeyOf(watch.Mobile), failed, next);
                failedOver = [.. failedOver, watch.Mobile];
                if (WatchFor(results[index], wait.Plan) is { } again)
                {
                    watches.Add(again);
                    Watch(context, wait.KeyOf(again.Mobile), again);
                }
            }
        }

        await SaveOrCompleteAsync(context, wait with { Watches = [.. watches], Outputs = Recount(wait.Outputs, results), FailedOver = failedOver, Held = [.. held] });
    }

    private async ValueTask SaveOrCompleteAsync(ActivityExecutionContext context, ReportWait wait)
    {
        if (wait.Done) await CompleteAsync(context, wait.Outputs, wait.FailedOver);
        else context.SetProperty(ReportWaitKey, wait);
    }

    /// <summary>When the recipient's send window opens next, if it is closed now; null without a window or when it is open.</summary>
    private DateTimeOffset? WindowOpening(ActivityExecutionContext context, string mobile)
    {
        if (LocalSendWindow.Parse(context.Get(SendWindow)) is not { } window) return null;
        var group = window.Split([PhoneNumber.Parse(mobile)], context.Get(TimeZone), context.Now)[0];
        return window.NextOpening(context.Now, group.Zones) is { } opensAt && opensAt > context.Now ? opensAt : null;
    }

    /// <summary>A held failover's window opened (or a timer fired late): those due go now, each checked against its window again.</summary>
    private async ValueTask OnFailoverWindowOpenAsync(ActivityExecutionContext context)
    {
        var wait = context.GetProperty<ReportWait>(ReportWaitKey)!;
        var results = wait.Outputs.Results.ToArray();
        var watches = wait.Watches.ToList();
        var failedOver = wait.FailedOver;
        var held = new List<HeldFailover>();
        foreach (var h in wait.Held ?? [])
        {
            if (h.OpensAt > context.Now || WindowOpening(context, h.Mobile) is not null)
            {
                // Not due yet (its own timer stays), or the window closed again before the timer fired (the server was down).
                var opensAt = h.OpensAt > context.Now ? h.OpensAt : WindowOpening(context, h.Mobile)!.Value;
                if (opensAt != h.OpensAt && !held.Concat(wait.Held!).Any(x => x.OpensAt == opensAt)) HoldUntil(context, opensAt, OnFailoverWindowOpenAsync);
                held.Add(h with { OpensAt = opensAt });
                continue;
            }
            var index = Array.FindIndex(results, r => r.Mobile == h.Mobile);
            results[index] = await FailOverAsync(context, wait.Plan, wait.KeyOf(h.Mobile), results[index], h.Next);
            failedOver = [.. failedOver, h.Mobile];
            if (WatchFor(results[index], wait.Plan) is { } again && !wait.ReportsOver)
            {
                watches.Add(again);
                Watch(context, wait.KeyOf(again.Mobile), again);
            }
        }
        await SaveOrCompleteAsync(context, wait with { Watches = [.. watches], Outputs = Recount(wait.Outputs, results), FailedOver = failedOver, Held = [.. held] });
    }

    /// <summary>One timer per opening: the held failovers that fall due together go in one resume.</summary>
    private void HoldUntil(ActivityExecutionContext context, DateTimeOffset opensAt, ExecuteActivityDelegate onOpen) =>
        context.CreateBookmark(new JsonObject { ["activityInstanceId"] = context.Id, ["failoverHeldUntil"] = opensAt.ToString("O") }, onOpen, opensAt);

    /// <summary>
    /// Sends one recipient whose message failed through <paramref name="next"/> (and the vendors after it in
    /// <paramref name="plan"/>, as a send does), once: <paramref name="recordKey"/> is the send key its record is under.
    /// </summary>
    private async Task<SmsSendResult> FailOverAsync(ActivityExecutionContext context, string[] plan, string recordKey, SmsSendResult failed, string next) =>
        (await FailOverAsync(context, plan, recordKey, [failed], next))[0];

    /// <summary>
    /// Sends <paramref name="failed"/> (recipients of the send records under <paramref name="recordKey"/>) through
    /// <paramref name="next"/> and the vendors after it, once each: every recipient is claimed on its record in a commit
    /// of its own before any call (<see cref="SendRecordStore.BeginFailoverAsync"/>), then those claimed go in calls of
    /// the vendor's batch size. Returns their results in the order given.
    /// </summary>
    private async Task<SmsSendResult[]> FailOverAsync(ActivityExecutionContext context, string[] plan, string recordKey, IReadOnlyList<SmsSendResult> failed, string next)
    {
        var ct = context.CancellationToken;
        var records = context.GetService<SendRecordStore>()!;
        var results = failed.ToArray();
        var optedOut = await context.GetService<OptOutList>()!.FilterOptedOutAsync(failed.Select(f => f.Mobile).ToArray(), ct);
        var claimed = new List<(int Index, FailoverStart Begun)>();
        for (var i = 0; i < results.Length; i++)
        {
            var one = results[i];
            if (optedOut.Contains(one.Mobile))
            {
                results[i] = one with { Error = one.Error + "; not sent again: the number opted out since" };
                continue;
            }
            var begun = await records.BeginFailoverAsync(recordKey, one.Mobile, one.Vendor!, next, ct);
            if (begun is null) results[i] = one with { Error = one.Error + "; not sent again: the send has no record of this number" };
            else if (begun.Begun) claimed.Add((i, begun));
            // An earlier run of this failover began it (it crashed, or this report came twice): what it got is on the record.
            else if (begun.Status == SendRecordStatus.Accepted) results[i] = Result(one, begun.Vendor, true, begun.MessageId, null, null, begun.Fee, false);
            else if (begun.Status == SendRecordStatus.Rejected) results[i] = Result(one, begun.Vendor, false, null, begun.VendorCode, begun.Error, null, false);
            else
            {
                const string interrupted = "a failover to this vendor was interrupted inside the vendor call: the outcome is unknown, so it was not sent again";
                await records.SettleAsync(recordKey, new Dictionary<string, long> { [one.Mobile] = begun.RecordId },
                    [new Routing.SmsRecipientOutcome(one.Mobile, begun.Vendor, false, null, null, interrupted, null, begun.Attempts, InDoubt: true)], ct);
                results[i] = Result(one, begun.Vendor, false, null, null, interrupted, null, true);
            }
        }
        if (claimed.Count == 0) return results;

        var through = plan.SkipWhile(v => !string.Equals(v, next, StringComparison.OrdinalIgnoreCase)).ToArray();
        var router = context.GetService<SmsVendorRouter>()!;
        SmsMessage? message = null;
        string? invalid = null;
        var batchSize = 1;
        try
        {
            message = BuildMessage(context, context.GetService<IOptions<SmsActivitiesOptions>>()!.Value);
            batchSize = Math.Max(1, router.Plan(message, through[0], through[1..])[0].MaxRecipientsPerCall);
        }
        catch (VendorValidationException ex)
        {
            invalid = ex.Message;
        }
        // The inputs no longer make a message (a variable changed) or the next vendor cannot take it: nothing was sent.
        Routing.SmsRecipientOutcome[] Refused((int Index, FailoverStart Begun)[] batch, string error) =>
            batch.Select(c => new Routing.SmsRecipientOutcome(results[c.Index].Mobile, next, false, null, "invalid", error, null, c.Begun.Attempts)).ToArray();
        // The vendor's idempotency key names the attempt (recipients claimed at another attempt go in calls of their own)
        // and, when it takes several calls, the batch.
        foreach (var attempt in claimed.GroupBy(c => c.Begun.Attempts))
        {
            var batches = attempt.Chunk(batchSize).ToArray();
            for (var b = 0; b < batches.Length; b++)
            {
                var batch = batches[b];
                var key = batches.Length == 1 ? $"{recordKey}-a{attempt.Key}" : $"{recordKey}-a{attempt.Key}-b{b + 1}";
                Routing.SmsRecipientOutcome[] outcomes;
                try
                {
                    if (invalid is not null) outcomes = Refused(batch, invalid);
                    else
                    {
                        // A recipient's own content, if any, is found by its number in the message rebuilt from the inputs.
                        var routed = await router.SendThroughAsync(message! with { Recipients = batch.Select(c => PhoneNumber.Parse(results[c.Index].Mobile)).ToArray(), IdempotencyKey = key },
                            through, ct);
                        var byMobile = routed.Recipients.ToDictionary(o => o.Mobile, StringComparer.Ordinal);
                        outcomes = batch.Select(c =>
                        {
                            var outcome = byMobile[results[c.Index].Mobile];
                            return outcome with { Attempts = c.Begun.Attempts - 1 + outcome.Attempts };
                        }).ToArray();
                    }
                }
                catch (VendorValidationException ex)
                {
                    outcomes = Refused(batch, ex.Message);
                }
                await records.SettleAsync(recordKey, batch.ToDictionary(c => results[c.Index].Mobile, c => c.Begun.RecordId), outcomes, ct);
                context.Log($"SendSms failed over {(batch.Length == 1 ? PhoneNumber.Mask(results[batch[0].Index].Mobile) : $"{batch.Length} recipients")} from {results[batch[0].Index].Vendor} "
                            + $"to {string.Join("/", outcomes.Select(o => o.Vendor).Distinct(StringComparer.OrdinalIgnoreCase))} after a failed delivery report: {outcomes.Count(o => o.Accepted)} accepted, {outcomes.Count(o => o.InDoubt)} in doubt, "
                            + $"{outcomes.Count(o => !o.Accepted && !o.InDoubt)} refused");
                for (var j = 0; j < batch.Length; j++)
                {
                    var o = outcomes[j];
                    results[batch[j].Index] = Result(results[batch[j].Index], o.Vendor, o.Accepted, o.MessageId, o.VendorCode, o.Error, o.Fee, o.InDoubt);
                }
            }
        }
        return results;
    }

    /// <summary>The recipient's result after a failover attempt; the failed vendor's fee stays counted.</summary>
    private static SmsSendResult Result(SmsSendResult failed, string? vendor, bool accepted, string? messageId, string? code, string? error, decimal? fee, bool inDoubt) =>
        failed with
        {
            Vendor = vendor ?? failed.Vendor, Accepted = accepted, MessageId = messageId, VendorCode = code, Error = error,
            Fee = failed.Fee is null && fee is null ? null : (failed.Fee ?? 0m) + (fee ?? 0m), InDoubt = inDoubt, Delivered = null,
        };

    private ValueTask OnReportWaitOverAsync(ActivityExecutionContext context)
    {
        var wait = context.GetProperty<ReportWait>(ReportWaitKey)!;
        context.Log($"SendSms: the report wait is over with {wait.Watches.Length} report(s) not received");
        if (wait.Held is not { Length: > 0 }) return CompleteAsync(context, wait.Outputs, wait.FailedOver);
        // Failovers already decided still go when their windows open; no further report is waited for.
        context.SetProperty(ReportWaitKey, wait with { Watches = [], ReportsOver = true });
        return ValueTask.CompletedTask;
    }

    /// <summary>The counts and outcome of results changed by reports: a recipient reported not delivered counts as failed.</summary>
    private static SendOutputs Recount(SendOutputs before, SmsSendResult[] results)
    {
        static bool IsSent(SmsSendResult r) => r.Accepted && r.Delivered != false;
        var sent = results.Count(IsSent);
        var inDoubt = results.Count(r => r.InDoubt);
        var failed = results.Count(r => !r.OptedOut && !r.InDoubt && !IsSent(r));
        var error = results.FirstOrDefault(r => !r.OptedOut && !IsSent(r))?.Error ?? (before.OptedOutCount > 0 ? before.Error : null);
        var outcome = inDoubt > 0 ? Unknown : sent == 0 ? Failed : failed > 0 || before.OptedOutCount > 0 ? PartiallySent : Sent;
        return before with { Results = results, SentCount = sent, FailedCount = failed, Fee = results.Sum(r => r.Fee ?? 0m), Error = error, Outcome = outcome };
    }
}
