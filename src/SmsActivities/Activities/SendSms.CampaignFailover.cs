using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using SmsActivities.Hosting;
using SmsActivities.Persistence;
using SmsActivities.Stimuli;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Activities;

/// <summary>
/// Failover on a failed delivery report for a send over <see cref="SmsActivitiesOptions.MaxResultsInOutputs"/>
/// recipients (a campaign). The workflow keeps no list per recipient: one bookmark on the whole send, which every report
/// of its messages resumes (as WaitForDeliveryReport waits on a campaign), and the recipients' state in the send records
/// and the stored reports. A report that says not delivered is looked up on the records: a record that still carries
/// that message is handed to the next vendor by <see cref="SendRecordStore.BeginFailoverAsync"/> (committed before that
/// vendor is called), so a repeated report, a re-run after a crash, or the sweep of the reports stored before the wait
/// began finds it handed over and sends nothing. A send window holds a failover as the small wait does, with one timer
/// per opening; the recipients it holds are found again on the records when the window opens.
/// </summary>
public sealed partial class SendSms
{
    private const string CampaignWaitKey = "campaignReportWait";

    /// <summary>
    /// The campaign wait's state, the same size whatever the campaign's: the plan's vendor names, the send's key (and its
    /// time zone groups' keys), the outputs without their per-recipient results, the recipients it had seen as targets,
    /// the fees of its failovers, who failed over (up to the outputs limit) and the send window openings it waits for.
    /// </summary>
    /// <remarks><paramref name="FailedOverOmitted"/>: more failed over than the outputs limit; <paramref name="FailedOver"/> stops growing.</remarks>
    private sealed record CampaignReportWait(string[] Plan, string SendKey, string[] Keys, bool Zoned, SendOutputs Outputs, int Targets, decimal Fee,
        string[] FailedOver, bool FailedOverOmitted, DateTimeOffset[] Openings, bool ReportsOver = false);

    private async ValueTask WaitForCampaignReportsAsync(ActivityExecutionContext context, SendOutputs outputs, string[] plan, string sendKey,
        Dictionary<string, string>? keys, DateTimeOffset until)
    {
        var wait = new CampaignReportWait(plan, sendKey, keys?.Values.Distinct(StringComparer.Ordinal).ToArray() ?? [sendKey], keys is not null,
            outputs with { Results = [] }, 0, outputs.Fee, [], false, []);
        // Reports stored before this wait's bookmark is committed may have come before their batch's records carried the
        // message (no stimulus reaches the bookmark for those): their failovers are made now.
        wait = await FailOverReportedAsync(context, wait, null);
        var progress = await context.GetService<SendReportLedger>()!.ProgressAsync(Reference(context, wait), includeInDoubt: true, context.CancellationToken);
        wait = wait with { Targets = progress.Targets };
        if (progress.Pending == 0 && wait.Openings.Length == 0)
        {
            await CompleteCampaignAsync(context, wait);
            return;
        }
        context.SetProperty(CampaignWaitKey, wait);
        context.CreateBookmark(new SendReportsBookmark(sendKey), OnCampaignReportAsync, name: SmsStimuli.WaitForDeliveryReport, autoBurn: false);
        context.CreateBookmark(new JsonObject { ["activityInstanceId"] = context.Id, ["reportsUntil"] = until.ToString("O") }, OnCampaignWaitOverAsync, until, ReportWaitTimerName);
        context.Log($"SendSms waits until {until:O} for the delivery reports of {progress.Pending} of {progress.Targets} recipient(s), to fail over those not delivered");
    }

    private async ValueTask OnCampaignReportAsync(ActivityExecutionContext context)
    {
        var wait = context.GetProperty<CampaignReportWait>(CampaignWaitKey)!;
        if (wait.ReportsOver) return;
        var report = DeliveryReportInput.From(context.ResumeInput);
        wait = await FailOverReportedAsync(context, wait, (report.Vendor, report.MessageId));
        context.SetProperty(CampaignWaitKey, wait);
        // The publisher's counts, read after it stored this report, say whether anything is pending; a failover since
        // then adds a message to wait for, never removes one, so "pending" is believed as it is, and "none" is counted
        // again before the wait ends on it.
        if (SendReportInput.CountsOf(context.ResumeInput)?.For(includeInDoubt: true) is { Pending: > 0 }) return;
        await EndIfNothingPendingAsync(context, wait);
    }

    /// <summary>
    /// Ends the wait once every message has its report. Reports stored meanwhile whose stimuli have not reached the wait
    /// yet (they may come in a later run) are swept from the records first: their failovers add messages to wait for.
    /// </summary>
    private async ValueTask EndIfNothingPendingAsync(ActivityExecutionContext context, CampaignReportWait wait)
    {
        var ledger = context.GetService<SendReportLedger>()!;
        if (wait.Openings.Length > 0 || (await ledger.ProgressAsync(Reference(context, wait), includeInDoubt: true, context.CancellationToken)).Pending > 0) return;
        wait = await FailOverReportedAsync(context, wait, null);
        context.SetProperty(CampaignWaitKey, wait);
        if (wait.Openings.Length > 0 || (await ledger.ProgressAsync(Reference(context, wait), includeInDoubt: true, context.CancellationToken)).Pending > 0) return;
        await CompleteCampaignAsync(context, wait);
    }

    /// <summary>A send window opened for held failovers: those whose window is open now go, the others wait for theirs.</summary>
    private async ValueTask OnCampaignWindowOpenAsync(ActivityExecutionContext context)
    {
        var wait = context.GetProperty<CampaignReportWait>(CampaignWaitKey)!;
        wait = await FailOverReportedAsync(context, wait with { Openings = wait.Openings.Where(o => o > context.Now).ToArray() }, null);
        context.SetProperty(CampaignWaitKey, wait);
        if (wait.ReportsOver)
        {
            if (wait.Openings.Length == 0) await CompleteCampaignAsync(context, wait);
            return;
        }
        await EndIfNothingPendingAsync(context, wait);
    }

    private async ValueTask OnCampaignWaitOverAsync(ActivityExecutionContext context)
    {
        // Reports that came before the wait ended call for their failovers, even those whose stimuli are still on their way.
        var wait = await FailOverReportedAsync(context, context.GetProperty<CampaignReportWait>(CampaignWaitKey)!, null);
        if (wait.Openings.Length == 0)
        {
            await CompleteCampaignAsync(context, wait);
            return;
        }
        // Failovers already called for still go when their windows open; no further report is waited for.
        context.Log($"SendSms: the report wait is over; failovers held by the send window go at {wait.Openings.Min():O}");
        context.SetProperty(CampaignWaitKey, wait with { ReportsOver = true });
    }

    /// <summary>
    /// Fails over the recipients whose stored report says not delivered and whose records still carry that message: the
    /// one <paramref name="message"/> a report resumed the wait with, or (null) every one of the send. A recipient whose
    /// send window is closed is left on its record, and the window's opening gets a timer.
    /// </summary>
    private async Task<CampaignReportWait> FailOverReportedAsync(ActivityExecutionContext context, CampaignReportWait wait, (string Vendor, string MessageId)? message)
    {
        // An OTP goes to one number, so it never waits here; were it to, nothing could be sent again (the code is kept nowhere).
        if (context.Get(Otp)) return wait;
        var failed = await context.GetService<SendReportLedger>()!.FailedDeliveriesAsync(Reference(context, wait), message, context.CancellationToken);
        if (failed.Count == 0) return wait;
        var limit = context.GetService<IOptions<SmsActivitiesOptions>>()!.Value.MaxResultsInOutputs;
        var (fee, failedOver, omitted, openings) = (wait.Fee, wait.FailedOver.ToList(), wait.FailedOverOmitted, wait.Openings.ToList());
        var due = new List<(FailedDelivery Delivery, string Next)>();
        foreach (var delivery in failed)
        {
            if (NextAfter(wait.Plan, delivery.Vendor) is not { } next) continue;
            if (WindowOpening(context, delivery.Mobile) is { } opensAt)
            {
                // Quiet hours hold a failover as they hold a send; the record keeps the failed message until the window opens.
                if (!openings.Contains(opensAt))
                {
                    openings.Add(opensAt);
                    HoldUntil(context, opensAt, OnCampaignWindowOpenAsync);
                }
                continue;
            }
            due.Add((delivery, next));
        }
        // Those going to the same vendor under the same send key go together, in calls of that vendor's batch size.
        foreach (var group in due.DistinctBy(d => (d.Delivery.IdempotencyKey, d.Delivery.Mobile)).GroupBy(d => (d.Delivery.IdempotencyKey, d.Next)))
        {
            var reported = group.Select(d => new SmsSendResult(d.Delivery.Mobile, d.Delivery.Vendor, true, d.Delivery.MessageId, d.Delivery.ReportCode,
                $"not delivered by {d.Delivery.Vendor} ({d.Delivery.ReportCode ?? "no reason given"})", null, Delivered: false)).ToArray();
            var results = await FailOverAsync(context, wait.Plan, group.Key.IdempotencyKey, reported, group.Key.Next);
            for (var i = 0; i < results.Length; i++)
            {
                var result = results[i];
                fee += result.Fee ?? 0m;
                // Not handed over: the number opted out since (the record keeps the failed message).
                if (string.Equals(result.Vendor, reported[i].Vendor, StringComparison.OrdinalIgnoreCase) || failedOver.Contains(result.Mobile)) continue;
                if (failedOver.Count < limit) failedOver.Add(result.Mobile);
                else omitted = true;
            }
        }
        return wait with { Fee = fee, FailedOver = [.. failedOver], FailedOverOmitted = omitted, Openings = [.. openings] };
    }

    /// <summary>
    /// The wait ends: the outputs are built once, from the send records and their reports. A failover still Pending was
    /// interrupted inside its vendor call by a crash (each is settled before the run that made it commits): it is in doubt.
    /// </summary>
    private async ValueTask CompleteCampaignAsync(ActivityExecutionContext context, CampaignReportWait wait)
    {
        var ct = context.CancellationToken;
        var records = context.GetService<SendRecordStore>()!;
        foreach (var key in wait.Keys) await records.MarkInDoubtAsync(key, ct);
        var rows = await context.GetService<SendReportLedger>()!.RecipientsAsync(Reference(context, wait), ct);
        var results = rows.Select(r =>
        {
            var delivered = r.ReportStatus switch { nameof(DeliveryStatus.Delivered) => true, nameof(DeliveryStatus.Failed) => (bool?)false, _ => null };
            var accepted = r.Status == SendRecordStatus.Accepted;
            var error = accepted && delivered == false
                ? $"not delivered ({r.ReportCode ?? "no reason given"}); " + (NextAfter(wait.Plan, r.Vendor) is null ? "no vendor left to fail over to" : "not sent again")
                : r.Error;
            return new SmsSendResult(r.Mobile, r.Vendor, accepted, r.MessageId, r.VendorCode, error, r.Fee,
                InDoubt: r.Status is SendRecordStatus.InDoubt or SendRecordStatus.Pending, Delivered: accepted ? delivered : null);
        }).ToArray();
        context.Log($"SendSms: the campaign's report wait ends with {wait.FailedOver.Length}{(wait.FailedOverOmitted ? "+" : "")} recipient(s) failed over");
        await CompleteAsync(context, Recount(wait.Outputs, results) with { Fee = wait.Fee }, wait.FailedOverOmitted ? [] : wait.FailedOver, campaign: true);
    }

    private SendReference Reference(ActivityExecutionContext context, CampaignReportWait wait) =>
        new(wait.SendKey, context.WorkflowInstanceId, Id, wait.Zoned);
}
