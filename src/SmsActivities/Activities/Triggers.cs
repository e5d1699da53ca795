using System.Text.Json.Nodes;
using SmsActivities.Stimuli;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Activities;

/// <summary>
/// Starts a workflow when an SMS comes in (a reply or an uplink). Vendor, keyword and extend filters are part of the
/// indexed payload (see <see cref="SmsStimuli"/>: each reply is published with every wildcard combination, so the match
/// is an exact hash lookup). Several keywords (comma separated) index one payload each. A regex cannot be hashed: a
/// trigger with a pattern is indexed as "any keyword" and the pattern is checked here; a reply that does not match ends
/// the new instance at once without running anything after the trigger. Used inside a flow (not as the start), it
/// waits for the next matching reply instead.
/// </summary>
[Activity(ActivityInputs.Namespace, "SMS", "Starts the workflow (or, inside a flow, waits) when an SMS reply arrives, filtered by vendor, keyword or pattern, and extend code.",
    DisplayName = "SMS Reply Received")]
public sealed class SmsReplyReceived : Trigger
{
    [Input(Description = "Only replies through this vendor.", UIHint = InputUIHints.DropDown, OptionsProvider = typeof(ReplyVendorChoices), DefaultValue = "Any")]
    public Input<string?>? Vendor { get; set; }

    [Input(Description = "Only replies whose first word is one of these keywords (comma separated, case-insensitive), e.g. Y,YES. Empty takes any.")]
    public Input<string?>? Keywords { get; set; }

    [Input(Description = "Only replies whose whole text matches this regular expression (case-insensitive). Checked after the keyword filter.")]
    public Input<string?>? Pattern { get; set; }

    [Input(Description = "Only replies to this extend code; empty takes any.")]
    public Input<string?>? Extend { get; set; }

    [Output] public Output<string?> Text { get; set; } = new();
    [Output] public Output<string?> Mobile { get; set; } = new();
    [Output(Description = "The first word of the text, upper-cased.")] public Output<string?> Keyword { get; set; } = new();
    [Output(DisplayName = "Vendor")] public Output<string?> ReplyVendor { get; set; } = new();
    [Output(DisplayName = "Extend")] public Output<string?> ReplyExtend { get; set; } = new();
    [Output] public Output<DateTimeOffset?> ReceivedAt { get; set; } = new();

    protected override IEnumerable<object> GetTriggerPayloads(TriggerIndexingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return Payloads(context.Get(Vendor), context.Get(Keywords), context.Get(Extend));
    }

    private static IEnumerable<ReplyFilter> Payloads(string? vendor, string? keywords, string? extend)
    {
        var list = ActivityInputs.ToList(keywords);
        return list.Count == 0
            ? [SmsStimuli.ReplyFilter(vendor, null, extend)]
            : list.Select(k => SmsStimuli.ReplyFilter(vendor, k, extend));
    }

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.IsTriggerOfWorkflow())
        {
            if (!Matches(context, context.TriggerInput))
            {
                await context.FinishWorkflowAsync();
                return;
            }
            await ReceiveAsync(context, context.TriggerInput);
            return;
        }
        foreach (var payload in Payloads(context.Get(Vendor), context.Get(Keywords), context.Get(Extend)))
            context.CreateBookmark(payload, OnReplyAsync);
    }

    private async ValueTask OnReplyAsync(ActivityExecutionContext context)
    {
        if (!Matches(context, context.ResumeInput))
        {
            // The resumed bookmark is gone; the others (one per keyword) stay. Re-arm this one and wait on.
            context.CreateBookmark(context.ResumedBookmark!.Payload, OnReplyAsync);
            return;
        }
        await ReceiveAsync(context, context.ResumeInput);
    }

    private bool Matches(ActivityExecutionContext context, JsonObject? input) =>
        context.Get(Pattern) is not { Length: > 0 } pattern || WaitForReply.Pattern(pattern).IsMatch((ReplyInput.From(input).Text ?? "").Trim());

    private ValueTask ReceiveAsync(ActivityExecutionContext context, JsonObject? input)
    {
        var reply = ReplyInput.From(input);
        context.Set(Text, reply.Text);
        context.Set(Mobile, reply.Mobile);
        context.Set(Keyword, reply.Keyword);
        context.Set(ReplyVendor, reply.Vendor);
        context.Set(ReplyExtend, reply.Extend);
        context.Set(ReceivedAt, reply.ReplyReceivedAt);
        return context.CompleteActivityAsync();
    }
}

/// <summary>
/// Starts a workflow when a delivery report arrives, filtered by vendor and status (indexed with wildcards, like
/// <see cref="SmsReplyReceived"/>). To wait for the reports of messages a workflow sent itself, use WaitForDeliveryReport.
/// </summary>
[Activity(ActivityInputs.Namespace, "SMS", "Starts the workflow (or, inside a flow, waits) when a delivery report arrives, filtered by vendor and status.",
    DisplayName = "Delivery Report Received")]
public sealed class DeliveryReportReceived : Trigger
{
    [Input(Description = "Only reports from this vendor.", UIHint = InputUIHints.DropDown, OptionsProvider = typeof(ReportVendorChoices), DefaultValue = "Any")]
    public Input<string?>? Vendor { get; set; }

    [Input(Description = "Only reports with this status.", UIHint = InputUIHints.DropDown, Options = ["Any", nameof(DeliveryStatus.Delivered), nameof(DeliveryStatus.Failed), nameof(DeliveryStatus.Unknown)], DefaultValue = "Any")]
    public Input<string?>? Status { get; set; }

    [Output] public Output<SmsReport?> Report { get; set; } = new();
    [Output] public Output<string?> MessageId { get; set; } = new();
    [Output] public Output<string?> Mobile { get; set; } = new();
    [Output(DisplayName = "Status")] public Output<string?> ReportStatus { get; set; } = new();

    protected override IEnumerable<object> GetTriggerPayloads(TriggerIndexingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return [SmsStimuli.ReportFilter(context.Get(Vendor), context.Get(Status))];
    }

    protected override ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.IsTriggerOfWorkflow()) return ReceiveAsync(context, context.TriggerInput);
        context.CreateBookmark(SmsStimuli.ReportFilter(context.Get(Vendor), context.Get(Status)), OnReportAsync);
        return ValueTask.CompletedTask;
    }

    private ValueTask OnReportAsync(ActivityExecutionContext context) => ReceiveAsync(context, context.ResumeInput);

    private ValueTask ReceiveAsync(ActivityExecutionContext context, JsonObject? input)
    {
        var report = input is null ? null : WaitForDeliveryReport.ToReport(DeliveryReportInput.From(input));
        context.Set(Report, report);
        context.Set(MessageId, report?.MessageId);
        context.Set(Mobile, report?.Mobile);
        context.Set(ReportStatus, report?.Status);
        return context.CompleteActivityAsync();
    }
}
