using SmsActivities.Hosting;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Activities;

/// <summary>
/// Resend failed of: the recipients are an earlier send's failures, read from its send records rather than from a
/// wait's FailedRecipients output, which is left empty over SmsActivities:MaxResultsInOutputs (a campaign's 1,500
/// failures would otherwise be resent to nobody).
/// <para>
/// The list is fixed by the records this send begins: a re-run of the same execution (after a crash before the workflow
/// committed) finds them under its key and sends to those numbers, never to failures reported since, which would have
/// no record of this send. A send window would begin its held groups' records only when their windows open, so the two
/// are not combined; nor is OTP, whose code goes to one number.
/// </para>
/// </summary>
public sealed partial class SendSms : IWorkflowValidatedActivity
{
    [Input(DisplayName = "Resend failed of",
        Description = "Instead of Recipients: the Id (or name) of an earlier SendSms of this workflow. This send goes to that send's recipients whose delivery report said not delivered (those a WaitForDeliveryReport on it lists in FailedRecipients), read from the send records, so a campaign of any size is covered, while FailedRecipients is left empty over SmsActivities:MaxResultsInOutputs. The list is fixed when this send begins: a re-run after a crash sends to the same numbers. Text, template and vendor come from this activity's inputs. Not with a send window or OTP.",
        OptionsProvider = typeof(SendSmsActivityChoices), Order = 2)]
    public Input<string?>? ResendFailedOf { get; set; }

    public IEnumerable<string> Validate(Workflow workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        var label = $"Activity '{Id}' ({Type})";
        var resendOf = LiteralText(ResendFailedOf);
        if (Recipients is null && ResendFailedOf is null)
            yield return $"{label}: required input 'Recipients' has no value (or name the earlier SendSms whose failed recipients to send to in Resend failed of).";
        if (Recipients is not null && ResendFailedOf is not null)
            yield return $"{label}: give Recipients or Resend failed of, not both.";
        if (resendOf is not null && workflow.FindByIdOrName(resendOf) is not SendSms)
            yield return $"{label}: Resend failed of '{resendOf}' names no SendSms activity of this workflow (give the id or the name of one).";
        if (resendOf is not null && (LiteralText(SendWindow) is not null || Otp?.Expression is { Type: Expression.LiteralType, Value: { } otp } && otp.ToString() == "true"))
            yield return $"{label}: Resend failed of cannot be combined with a send window or OTP.";
    }

    private bool ResendsFailed(ActivityExecutionContext context) => !string.IsNullOrWhiteSpace(context.Get(ResendFailedOf));

    /// <summary>The trimmed text of a literal input; null when it is absent, empty or an expression.</summary>
    private static string? LiteralText(Input? input) =>
        input?.Expression is { Type: Expression.LiteralType, Value: System.Text.Json.Nodes.JsonValue value } && value.TryGetValue<string>(out var text)
        && !string.IsNullOrWhiteSpace(text) ? text.Trim() : null;

    /// <summary>
    /// The recipients of a send with Resend failed of <paramref name="sendId"/>: those of the records begun under
    /// <paramref name="key"/> when an execution of this send got that far, else the earlier send's failures as its
    /// records and reports tell them now.
    /// </summary>
    private async Task<PhoneNumber[]> RecipientsToResendAsync(ActivityExecutionContext context, string sendId, string key, SmsActivitiesOptions options)
    {
        if (ActivityInputs.ToList(context.Get(Recipients)).Count > 0)
            throw new VendorValidationException("recipients", "leave empty when Resend failed of names the send whose failed recipients to send to");
        if (!string.IsNullOrWhiteSpace(context.Get(SendWindow)))
            throw new VendorValidationException("sendWindow", "cannot be combined with Resend failed of: the recipients are fixed when the send begins, and a held time zone group begins only when its window opens");
        if (context.Get(Otp))
            throw new VendorValidationException("otp", "cannot be combined with Resend failed of: an OTP goes to exactly one recipient");
        var ct = context.CancellationToken;
        // Begun by an execution of this send that did not commit: its numbers, in the order they were begun.
        var begun = await context.GetService<SendRecordStore>()!.RecordIdsAsync(key, ct);
        if (begun.Count > 0) return begun.OrderBy(r => r.Value).Select(r => PhoneNumber.Parse(r.Key)).ToArray();

        // The canvas name works as well as the id (like getOutputFrom); sends are recorded under the id.
        var send = context.WorkflowExecutionContext.Workflow.FindByIdOrName(sendId);
        if (send is not SendSms) throw new VendorValidationException("resendFailedOf", $"'{sendId}' names no SendSms activity of this workflow");
        var ledger = context.GetService<SendReportLedger>()!;
        var earlier = await ledger.LatestSendAsync(context.WorkflowInstanceId, send.Id, ct);
        var rows = earlier is null ? [] : await ledger.RowsAsync(earlier, includeInDoubt: false, ct);
        // The rule of WaitForDeliveryReport's FailedRecipients.
        var failed = rows.Where(r => r.ReportedNotDelivered).Select(r => r.Mobile).Distinct(StringComparer.Ordinal).Select(m => PhoneNumber.Parse(m)).ToArray();
        if (failed.Length == 0) throw new VendorValidationException("resendFailedOf", $"'{sendId}' has no recipient whose delivery report said not delivered");
        if (failed.Length > options.MaxRecipientsPerSend)
            throw new VendorValidationException("resendFailedOf", $"at most {options.MaxRecipientsPerSend} recipients per SendSms, '{sendId}' has {failed.Length} failed");
        return failed;
    }
}
