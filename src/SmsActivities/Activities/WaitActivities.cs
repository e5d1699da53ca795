using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using SmsActivities.Hosting;
using SmsActivities.Persistence;
using SmsActivities.Stimuli;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Activities.BuiltIn;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;
using SmsActivities.Workflows.Model;

namespace SmsActivities.Activities;

/// <summary>A delivery report as the activities output it.</summary>
public sealed record SmsReport(string Vendor, string MessageId, string? Mobile, string Status, string? VendorCode, string? Description, DateTimeOffset? ReportedAt);

/// <summary>Counts of a WaitForDeliveryReport.</summary>
public sealed record ReportTally(int Total, int Delivered, int Failed, int Pending);

[Activity(ActivityInputs.Namespace, "SMS", "Waits for the delivery reports of one message or of every message an earlier SendSms sent, and of its recipients in doubt: a report for one of those shows the vendor did send it (SettledRecipients). Leaves by Delivered (all delivered), Failed (some failed) or Timeout (some still pending or in doubt).",
    DisplayName = "Wait For Delivery Report")]
[FlowNode(Delivered, Failed, BlockingActivity.TimeoutOutcome)]
public sealed class WaitForDeliveryReport : Activity, IWorkflowValidatedActivity
{
    public const string Delivered = "Delivered";
    public const string Failed = "Failed";
    private const string PendingKey = "pending";
    private const string ReportsKey = "reports";
    private const string SettledKey = "settled";
    private const string SendKey = "send";

    [Input(Description = "An earlier SendSms activity of this workflow (its id or its name on the canvas): waits for every message its last run sent.", OptionsProvider = typeof(SendSmsActivityChoices), Order = 0)]
    public Input<string?>? SendSmsActivityId { get; set; }

    [Input(Description = "Or: the vendor of the message ids below.", UIHint = InputUIHints.DropDown, Options = ["", VendorNames.Yunpian, VendorNames.Tencent, VendorNames.SendCloud, VendorNames.Yaningai], Order = 1)]
    public Input<string?>? Vendor { get; set; }

    [Input(Description = "Or: vendor message ids, each typed and confirmed with Enter (one chip per id), or JavaScript giving a list such as SendSms's MessageIds output.", UIHint = InputUIHints.MultiText, Order = 2)]
    public Input<object?>? MessageIds { get; set; }

    [Input(Description = "How long to wait before leaving by Timeout (e.g. 00:10:00); empty waits without limit.", Order = 3)]
    public Input<TimeSpan?>? Timeout { get; set; }

    [Input(Description = "Also wait for the SendSms's recipients in doubt (its answer was lost): a report for one settles it as sent. Off, only accepted messages are waited for. Set a Timeout: a message the vendor never sent gets no report.",
        UIHint = InputUIHints.Checkbox, DefaultValue = true, Order = 4)]
    public Input<bool>? IncludeInDoubt { get; set; }

    [Output(Description = "The reports received.")] public Output<IReadOnlyList<SmsReport>> Reports { get; set; } = new();
    [Output(Description = "Total, delivered, failed and pending counts.")] public Output<ReportTally> Tally { get; set; } = new();
    [Output(Description = "Recipients whose report said not delivered.")] public Output<IReadOnlyList<string>> FailedRecipients { get; set; } = new();
    [Output(Description = "Recipients without a report yet (on Timeout), those in doubt included.")] public Output<IReadOnlyList<string>> PendingRecipients { get; set; } = new();
    [Output(Description = "Recipients the SendSms left in doubt whose report showed the vendor had sent them (count them as sent).")]
    public Output<IReadOnlyList<string>> SettledRecipients { get; set; } = new();
    [Output(Description = "How many recipients the SendSms left in doubt were settled as sent by their report (see SettledRecipients), also when that list is left empty over SmsActivities:MaxResultsInOutputs.")]
    public Output<int> SettledCount { get; set; } = new();
    [Output(Description = "Recipients still in doubt when the wait ended: no report came, so whether the vendor sent them is not known. Empty when there are more than SmsActivities:MaxResultsInOutputs: InDoubtCount counts them.")]
    public Output<IReadOnlyList<string>> InDoubtRecipients { get; set; } = new();
    [Output(Description = "How many recipients are still in doubt (see InDoubtRecipients), also when that list is left empty over SmsActivities:MaxResultsInOutputs.")]
    public Output<int> InDoubtCount { get; set; } = new();

    /// <summary>A literal SendSms reference must name a SendSms of this workflow (by id or name); scripts are checked when they run.</summary>
    public IEnumerable<string> Validate(Workflow workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        if (SendSmsActivityId?.Expression is not { Type: Expression.LiteralType, Value: JsonValue value } || !value.TryGetValue<string>(out var reference)
            || string.IsNullOrWhiteSpace(reference)) yield break;
        if (workflow.FindByIdOrName(reference.Trim()) is not SendSms)
            yield return $"Activity '{Id}' ({Type}): Send Sms Activity Id '{reference.Trim()}' names no SendSms activity of this workflow (give the id or the name of one).";
    }

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Get(SendSmsActivityId) is { Length: > 0 } sendId)
        {
            // The canvas name works as well as the id (like getOutputFrom); sends are recorded under the id.
            var send = context.WorkflowExecutionContext.Workflow.FindByIdOrName(sendId.Trim())
                       ?? throw new VendorValidationException("sendSmsActivityId", $"'{sendId.Trim()}' names no activity of this workflow");
            await WaitForSendAsync(context, send.Id, IncludeInDoubt is null || context.Get(IncludeInDoubt));
            return;
        }

        var vendor = context.Get(Vendor);
        var ids = ActivityInputs.ToList(context.Get(MessageIds));
        if (ids.Count > 0 && string.IsNullOrWhiteSpace(vendor))
            throw new VendorValidationException("vendor", "required with message ids");
        var targets = ids.Select(id => new WaitTarget(vendor!.Trim().ToLowerInvariant(), id, "", "")).ToArray();
        if (targets.Length == 0)
        {
            await NothingToWaitForAsync(context);
            return;
        }

        var pending = new JsonArray(targets.Select(t => (JsonNode?)new JsonObject
        {
            ["vendor"] = t.Vendor, ["messageId"] = t.MessageId, ["mobile"] = t.Mobile, ["inDoubt"] = t.InDoubt,
        }).ToArray());
        context.SetProperty(PendingKey, pending);
        context.SetProperty(ReportsKey, new JsonArray());
        context.SetProperty(SettledKey, new JsonArray());
        var reported = await TakeStoredReportsAsync(context, targets[0].Vendor, ids);
        if (context.GetProperty<JsonArray>(PendingKey) is { Count: 0 }) return;   // all reported: the wait has ended
        // Message ids given one by one: one bookmark per message, so a report resumes exactly the wait for its message, and
        // a report that arrived before this bookmark was committed is waiting in the runtime's inbox and is claimed when it is.
        foreach (var target in targets.Where(t => !reported.Contains(t.MessageId!)))
            context.CreateBookmark(DeliveryReportBookmark.For(target.Vendor, target.MessageId!), OnReportAsync);
        CreateTimeout(context);
    }

    /// <summary>
    /// Marks the messages as waited for by id, then takes the reports already stored of those on a send record: the
    /// publisher keeps such a report in the runtime's inbox only for a marked message (<see cref="ReportWaitMarkers"/>).
    /// Reports of messages on no send record are always kept in the inbox, and claimed by the bookmarks.
    /// </summary>
    /// <returns>The message ids taken.</returns>
    private async ValueTask<IReadOnlySet<string>> TakeStoredReportsAsync(ActivityExecutionContext context, string vendor, IReadOnlyList<string> messageIds)
    {
        await context.GetService<ReportWaitMarkers>()!.MarkAsync(vendor, messageIds, context.CancellationToken);
        var stored = await context.GetService<SendReportLedger>()!.StoredReportsAsync(vendor, messageIds, context.CancellationToken);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var report in stored)
        {
            taken.Add(report.MessageId);
            var input = new DeliveryReportInput(report.Vendor, report.MessageId, report.Mobile, report.Status, report.Code, null, null, report.ReceivedAt);
            await TakeReportAsync(context, input, p => p?["inDoubt"]?.GetValue<bool>() != true && p?["messageId"]?.GetValue<string>() == report.MessageId);
        }
        return taken;
    }

    /// <summary>Nothing was accepted and nothing is in doubt, so no report can come: waiting would only end in Timeout.</summary>
    private async ValueTask NothingToWaitForAsync(ActivityExecutionContext context)
    {
        context.Log("WaitForDeliveryReport: no accepted message to wait for");
        Publish(context, new JsonArray(), [], new JsonArray());
        await context.CompleteActivityAsync(Failed);
    }

    private void CreateTimeout(ActivityExecutionContext context)
    {
        if (context.Get(Timeout) is { } timeout)
            context.CreateBookmark(new JsonObject { ["activityInstanceId"] = context.Id }, OnTimeoutAsync, context.Now + timeout, SmsStimuli.WaitForDeliveryReport + ".Timeout");
    }

    /// <summary>
    /// A wait on a whole send: one bookmark, kept until the wait ends, that every report of the send's messages resumes.
    /// What is still pending is counted from the send records and the stored reports, never kept in the workflow, so the
    /// state stays the same size whatever the campaign's. Reports stored before the wait began are counted now; one stored
    /// between this count and the bookmark's commit waits in the inbox and is claimed by that commit.
    /// </summary>
    private async ValueTask WaitForSendAsync(ActivityExecutionContext context, string sendActivityId, bool includeInDoubt)
    {
        var ledger = context.GetService<SendReportLedger>()!;
        var send = await ledger.LatestSendAsync(context.WorkflowInstanceId, sendActivityId, context.CancellationToken);
        var progress = send is null ? null : await ledger.ProgressAsync(send, includeInDoubt, context.CancellationToken);
        if (send is null || progress!.Targets == 0)
        {
            await NothingToWaitForAsync(context);
            return;
        }
        var wait = new SendWait(send.Key, sendActivityId, includeInDoubt, progress.Targets);
        context.SetProperty(SendKey, new JsonObject { ["key"] = wait.Key, ["activityId"] = wait.ActivityId, ["includeInDoubt"] = wait.IncludeInDoubt, ["targets"] = wait.Targets });
        if (progress.Pending == 0)
        {
            await EndSendWaitAsync(context, wait, timedOut: false);
            return;
        }
        context.CreateBookmark(new SendReportsBookmark(send.Key), OnSendReportAsync, autoBurn: false);
        CreateTimeout(context);
    }

    private async ValueTask OnSendReportAsync(ActivityExecutionContext context)
    {
        context.GetService<SmsTelemetry>()?.RecordResume(context.ResumeInput ?? [], context.Now, nameof(WaitForDeliveryReport));
        var send = SendOf(context);
        SendReportProgress progress;
        // The publisher counted the send after storing this report and every other of its batch: nothing to read here.
        // Unless it counted before the send had all its recipients (a report that came while a later batch or time zone
        // group was still going out, claimed from the inbox when the wait began): those counts know fewer targets than
        // the wait does, and would end it early.
        if (SendReportInput.CountsOf(context.ResumeInput)?.For(send.IncludeInDoubt) is { } counted && counted.Targets >= send.Targets)
        {
            progress = counted;
        }
        else
        {
            // Stale counts, or a stimulus stored by an earlier version with none. Every report a run resumes with was stored
            // before its stimulus, so the first count of the run sees them all: the others of the same run need no count of their own.
            if (!CountedThisRun.GetOrCreateValue(context.WorkflowExecutionContext).Add(context.Id)) return;
            progress = await context.GetService<SendReportLedger>()!.ProgressAsync(Reference(context, send), send.IncludeInDoubt, context.CancellationToken);
        }
        if (progress.Pending > 0) return;
        await EndSendWaitAsync(context, send, timedOut: false);
    }

    /// <summary>The wait on <paramref name="send"/> ends: its outputs are built once, from the send records and their reports.</summary>
    private async ValueTask EndSendWaitAsync(ActivityExecutionContext context, SendWait send, bool timedOut)
    {
        // One read for every wait its dispatcher batch ends, rather than one per wait.
        var rows = await BatchSendRows.RowsAsync(context.WorkflowExecutionContext.Batch, context.GetService<SendReportLedger>()!, context.GetService<SendRecordWatch>(),
            Reference(context, send), send.IncludeInDoubt, context.CancellationToken);
        // Recipients the SendSms called in doubt whose records a report has since settled: the vendor did send them.
        var doubted = send.IncludeInDoubt && context.ExpressionContext.GetOutput(send.ActivityId, nameof(SendSms.InDoubtRecipients)) is JsonArray list
            ? list.Select(n => n?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : [];
        var inDoubt = rows.Where(r => r.RecordStatus != SendRecordStatus.Accepted).ToArray();
        var reports = rows.Where(r => r.ReportStatus is not null)
            .Select(r => new SmsReport(r.Vendor, r.MessageId!, r.Mobile, r.ReportStatus!, r.ReportCode, null, null)).ToArray();
        var failed = rows.Where(r => r.ReportedNotDelivered).ToArray();
        var pending = rows.Where(r => r.ReportStatus is null).Select(r => r.Mobile).ToArray();
        // A campaign's lists over the outputs limit are left empty (the tally still counts them): the per-recipient
        // results are in the send records, and outputs are part of the state every later resume reads and writes.
        var limit = context.GetService<IOptions<SmsActivitiesOptions>>()!.Value.MaxResultsInOutputs;
        IReadOnlyList<T> Capped<T>(IReadOnlyList<T> items) => items.Count > limit ? [] : items;
        context.Set(Reports, Capped(reports));
        context.Set(FailedRecipients, Capped(failed.Select(r => r.Mobile).ToArray()));
        context.Set(PendingRecipients, Capped(pending));
        context.Set(Tally, new ReportTally(rows.Count, reports.Length - failed.Length, failed.Length, pending.Length));
        var settled = rows.Where(r => r.RecordStatus == SendRecordStatus.Accepted && doubted.Contains(r.Mobile)).Select(r => r.Mobile).ToArray();
        context.Set(SettledRecipients, Capped(settled));
        context.Set(SettledCount, SettledCountOf(context, send, doubted.Count, settled.Length, inDoubt.Length));
        context.Set(InDoubtRecipients, Capped(inDoubt.Select(r => r.Mobile).ToArray()));
        context.Set(InDoubtCount, inDoubt.Length);
        await context.CompleteActivityAsync(timedOut ? BlockingActivity.TimeoutOutcome : failed.Length > 0 ? Failed : Delivered);
    }

    /// <summary>
    /// How many of the send's recipients in doubt a report has settled. Over the outputs limit the SendSms lists none of
    /// them (<paramref name="listed"/> short of its count) and a settled record keeps no mark of its doubt, so the count is
    /// what the SendSms counted in doubt less what still is: a report can only settle a recipient in doubt as sent.
    /// </summary>
    private static int SettledCountOf(ActivityExecutionContext context, SendWait send, int listed, int settledListed, int stillInDoubt)
    {
        if (!send.IncludeInDoubt) return 0;
        var counted = context.ExpressionContext.GetOutput(send.ActivityId, nameof(SendSms.InDoubtCount)) is JsonValue value && value.TryGetValue<int>(out var n) ? n : listed;
        return listed >= counted ? settledListed : Math.Max(0, counted - stillInDoubt);
    }

    /// <summary>A wait on a send; <paramref name="Targets"/>: the recipients it counted when it began (int.MaxValue in a wait stored without them, so counts are always read).</summary>
    private sealed record SendWait(string Key, string ActivityId, bool IncludeInDoubt, int Targets);

    private static SendWait SendOf(ActivityExecutionContext context) =>
        context.GetProperty<JsonObject>(SendKey) is { } send
            ? new SendWait(send["key"]!.GetValue<string>(), send["activityId"]!.GetValue<string>(), send["includeInDoubt"]?.GetValue<bool>() ?? true,
                send["targets"]?.GetValue<int>() ?? int.MaxValue)
            : throw new InvalidOperationException($"WaitForDeliveryReport activity instance {context.Id} has no send to wait for");

    /// <summary>The send as the ledger finds it; whether it was split by time zone is not kept, so its groups are looked for too.</summary>
    private static SendReference Reference(ActivityExecutionContext context, SendWait send) =>
        new(send.Key, context.WorkflowInstanceId, send.ActivityId, Zoned: true);

    /// <summary>The runs (by their execution context) in which a wait on a send has counted its progress already.</summary>
    private static readonly ConditionalWeakTable<WorkflowExecutionContext, HashSet<string>> CountedThisRun = new();

    private ValueTask OnReportAsync(ActivityExecutionContext context)
    {
        var input = context.ResumeInput ?? [];
        context.GetService<SmsTelemetry>()?.RecordResume(input, context.Now, nameof(WaitForDeliveryReport));
        var report = DeliveryReportInput.From(input);
        return TakeReportAsync(context, report, p => p?["inDoubt"]?.GetValue<bool>() != true && p?["messageId"]?.GetValue<string>() == report.MessageId
                                                     && string.Equals(p?["vendor"]?.GetValue<string>(), report.Vendor, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A report that settled a recipient in doubt (see <see cref="SmsStimuli.ForInDoubtReport"/>): the vendor did send it.</summary>
    private ValueTask OnInDoubtReportAsync(ActivityExecutionContext context)
    {
        context.GetService<SmsTelemetry>()?.RecordResume(context.ResumeInput ?? [], context.Now, nameof(WaitForDeliveryReport));
        var report = DeliveryReportInput.From(context.ResumeInput);
        var mobile = context.ResumedBookmark?.Payload?["mobile"]?.GetValue<string>() ?? report.Mobile;
        return TakeReportAsync(context, report, p => p?["inDoubt"]?.GetValue<bool>() == true && p?["mobile"]?.GetValue<string>() == mobile);
    }

    private async ValueTask TakeReportAsync(ActivityExecutionContext context, DeliveryReportInput report, Func<JsonNode?, bool> isFor)
    {
        var pending = context.GetProperty<JsonArray>(PendingKey) ?? [];
        var reports = context.GetProperty<JsonArray>(ReportsKey) ?? [];
        var settled = context.GetProperty<JsonArray>(SettledKey) ?? [];
        var match = pending.FirstOrDefault(isFor);
        if (match is not null)
        {
            // Campaign reports may not name the number (some vendors report by id only): take it from the send record.
            if (report.Mobile is null && match["mobile"]?.GetValue<string>() is { Length: > 0 } mobile) report = report with { Mobile = mobile };
            if (match["inDoubt"]?.GetValue<bool>() == true) settled.Add(match["mobile"]?.GetValue<string>());
            pending.Remove(match);
            reports.Add(report.ToJson());
        }
        context.SetProperty(PendingKey, pending);
        context.SetProperty(ReportsKey, reports);
        context.SetProperty(SettledKey, settled);
        // Outputs are written once, when the wait ends: rewriting every list on each of a campaign's reports would make
        // each resume cost grow with the campaign.
        if (pending.Count > 0) return;
        var failed = Publish(context, pending, reports, settled);
        await context.CompleteActivityAsync(failed > 0 ? Failed : Delivered);
    }

    private ValueTask OnTimeoutAsync(ActivityExecutionContext context)
    {
        if (context.GetProperty<JsonObject>(SendKey) is not null) return EndSendWaitAsync(context, SendOf(context), timedOut: true);
        Publish(context, context.GetProperty<JsonArray>(PendingKey) ?? [], context.GetProperty<JsonArray>(ReportsKey) ?? [], context.GetProperty<JsonArray>(SettledKey) ?? []);
        return context.CompleteActivityAsync(BlockingActivity.TimeoutOutcome);
    }

    internal static SmsReport ToReport(DeliveryReportInput r) => new(r.Vendor, r.MessageId, r.Mobile, r.Status, r.VendorCode, r.Description, r.ReportedAt);

    /// <summary>Sets every output from the state so far; returns the number of reports that are not Delivered.</summary>
    private int Publish(ActivityExecutionContext context, JsonArray pending, IEnumerable<JsonNode?> reports, JsonArray settled)
    {
        var list = reports.OfType<JsonObject>().Select(r => ToReport(DeliveryReportInput.From(r))).ToArray();
        var failed = list.Where(r => r.Status != nameof(DeliveryStatus.Delivered)).ToArray();
        context.Set(Reports, list);
        context.Set(FailedRecipients, failed.Select(r => r.Mobile ?? r.MessageId).ToArray());
        context.Set(PendingRecipients, pending.Select(p => p?["mobile"]?.GetValue<string>() is { Length: > 0 } m ? m : p?["messageId"]?.GetValue<string>() ?? "").ToArray());
        context.Set(Tally, new ReportTally(list.Length + pending.Count, list.Length - failed.Length, failed.Length, pending.Count));
        var settledRecipients = settled.Select(n => n?.GetValue<string>()).OfType<string>().ToArray();
        context.Set(SettledRecipients, settledRecipients);
        context.Set(SettledCount, settledRecipients.Length);
        var inDoubt = pending.Where(p => p?["inDoubt"]?.GetValue<bool>() == true).Select(p => p?["mobile"]?.GetValue<string>()).OfType<string>().ToArray();
        context.Set(InDoubtRecipients, inDoubt);
        context.Set(InDoubtCount, inDoubt.Length);
        return failed.Length;
    }
}

[Activity(ActivityInputs.Namespace, "SMS", "Waits for an SMS from a mobile (optionally to an extend code and matching a keyword pattern); leaves by Replied or Timeout. A reply that came in shortly before the wait began (the reply claim window, 60 s by default) answers it too; an older one never does.",
    DisplayName = "Wait For Reply")]
[FlowNode(Replied, BlockingActivity.TimeoutOutcome)]
public sealed class WaitForReply : BlockingActivity
{
    public const string Replied = "Replied";
    private const string BeganKey = "began";

    [Input(Description = "The number the reply must come from.", IsRequired = true)]
    public Input<string?>? Mobile { get; set; }

    [Input(Description = "Only replies to this extend code; empty takes any.")]
    public Input<string?>? Extend { get; set; }

    [Input(Description = "Only replies whose text matches this regular expression (case-insensitive), e.g. ^(Y|YES|N|NO)$; others are ignored and the wait goes on.")]
    public Input<string?>? KeywordPattern { get; set; }

    [Output] public Output<string?> Text { get; set; } = new();
    [Output(DisplayName = "Mobile")] public Output<string?> From { get; set; } = new();
    [Output] public Output<DateTimeOffset?> ReceivedAt { get; set; } = new();
    [Output] public Output<string?> ReplyVendor { get; set; } = new();

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var mobile = ActivityInputs.ParseMobile(context, context.Get(Mobile));
        if (context.Get(KeywordPattern) is { Length: > 0 } pattern) _ = Pattern(pattern);   // a bad pattern fails now, not on the first reply
        context.SetProperty(BeganKey, context.Now);
        WaitFor(context, Bookmark(context, mobile), OnReplyAsync);
        return ValueTask.CompletedTask;
    }

    private ReplyBookmark Bookmark(ActivityExecutionContext context, PhoneNumber mobile) => SmsStimuli.ReplyBookmark(mobile.E164, context.Get(Extend));

    private async ValueTask OnReplyAsync(ActivityExecutionContext context)
    {
        var input = context.ResumeInput ?? [];
        context.GetService<SmsTelemetry>()?.RecordResume(input, context.Now, nameof(WaitForReply));
        var reply = ReplyInput.From(input);
        var text = reply.Text ?? "";
        if (IsOlderThanTheWait(context, reply) || (context.Get(KeywordPattern) is { Length: > 0 } pattern && !Pattern(pattern).IsMatch(text.Trim())))
        {
            // Not the answer this step waits for: wait on (the timeout timer is still set). A reply from before the wait
            // (kept in the inbox) is consumed here either way, so it cannot answer any later question.
            context.CreateBookmark(Bookmark(context, ActivityInputs.ParseMobile(context, context.Get(Mobile))), OnReplyAsync);
            return;
        }
        context.Set(Text, text);
        context.Set(From, reply.Mobile);
        context.Set(ReceivedAt, reply.ReplyReceivedAt);
        context.Set(ReplyVendor, reply.Vendor);
        await context.CompleteActivityAsync(Replied);
    }

    /// <summary>A reply that came in more than the claim window before this wait began answered an earlier question, or none.</summary>
    private static bool IsOlderThanTheWait(ActivityExecutionContext context, ReplyInput reply)
    {
        var receivedAt = reply.ReceivedAt;
        var began = context.GetProperty<DateTimeOffset?>(BeganKey);
        if (receivedAt is null || began is null) return false;
        var window = context.GetService<IOptions<SmsActivitiesOptions>>()?.Value.ReplyClaimWindow ?? TimeSpan.FromSeconds(60);
        if (receivedAt >= began - window) return false;
        context.Log($"WaitForReply: ignored a reply received {began - receivedAt:c} before this wait began (claim window {window:c})");
        return true;
    }

    internal static Regex Pattern(string pattern)
    {
        try
        {
            return new Regex(pattern, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(200));
        }
        catch (ArgumentException ex)
        {
            throw new VendorValidationException("keywordPattern", "is not a valid regular expression: " + ex.Message);
        }
    }
}

/// <summary>The drop-down of WaitForDeliveryReport's send and of SendSms's Resend failed of: the SendSms activities of the workflow being edited, shown by name, stored by id.</summary>
public sealed class SendSmsActivityChoices : IWorkflowInputOptionsProvider
{
    public IReadOnlyList<InputOption> GetOptions(InputInfo input, WorkflowDefinition definition) =>
        ActivityNodes.Of(definition)
            .Where(a => (string?)a["type"] == ActivityTypeInfo.TypeNameOf(typeof(SendSms)))
            .Select(a => ((string)a["id"]!, (string?)a["name"]))
            .Select(a => new InputOption(a.Item2 is { Length: > 0 } name && name != a.Item1 ? $"{name} ({a.Item1})" : a.Item1, a.Item1))
            .ToList();
}
