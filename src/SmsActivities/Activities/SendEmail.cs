using ActivityKind = System.Diagnostics.ActivityKind;
using SmsActivities.Persistence;
using SmsActivities.Routing;
using SmsActivities.Telemetry;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Activities;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Activities;

/// <summary>An attachment as a workflow gives it: the content base64-encoded.</summary>
public sealed record EmailAttachmentInput(string FileName, string? ContentType, string ContentBase64);

[Activity(ActivityInputs.Namespace, "Email", "Sends an email to one or many recipients (YANINGAI email or any SMTP server), with HTML and text bodies, per-recipient placeholders and attachments. Leaves by Unknown when a message may have gone out although its answer was lost (an SMTP connection dropped after the message was transmitted): those recipients are in doubt and were not sent again.",
    DisplayName = "Send Email")]
[FlowNode(Sent, Failed, Unknown)]
public sealed class SendEmail : Activity
{
    public const string Sent = "Sent";
    public const string Failed = "Failed";
    /// <summary>Some recipients are in doubt (whatever happened to the others): see <see cref="InDoubtRecipients"/>.</summary>
    public const string Unknown = "Unknown";

    [Input(Description = "The vendor account, or Auto for the first configured vendor with email.", UIHint = InputUIHints.DropDown, OptionsProvider = typeof(EmailVendorChoices), DefaultValue = "Auto")]
    public Input<string?>? Vendor { get; set; }

    [Input(Description = "Recipient addresses: type each and press Enter (one chip per address), or switch to JavaScript or a variable for a list.", UIHint = InputUIHints.MultiText, IsRequired = true)]
    public Input<object?>? To { get; set; }

    [Input(Description = "Sender display name.")]
    public Input<string?>? SenderName { get; set; }

    [Input(Description = "Sender address, where the account allows choosing it.")]
    public Input<string?>? From { get; set; }

    [Input(IsRequired = true)]
    public Input<string?>? Subject { get; set; }

    [Input(Description = "HTML body; %name% placeholders are replaced per recipient. YANINGAI requires it; SMTP needs it or the text body.", UIHint = InputUIHints.MultiLine)]
    public Input<string?>? HtmlContent { get; set; }

    [Input(Description = "Plain-text body (SMTP: sent as the text alternative of the HTML, or alone).", UIHint = InputUIHints.MultiLine)]
    public Input<string?>? TextContent { get; set; }

    [Input(Description = "Placeholders per recipient: {\"a@example.com\": {\"name\": \"Ann\"}}.", UIHint = InputUIHints.JsonEditor)]
    public Input<Dictionary<string, Dictionary<string, string>>?>? Placeholders { get; set; }

    [Input(Description = "Attachments: [{\"fileName\", \"contentType\", \"contentBase64\"}].", UIHint = InputUIHints.JsonEditor)]
    public Input<List<EmailAttachmentInput>?>? Attachments { get; set; }

    [Output(Description = "Vendor message ids of the accepted recipients (SMTP: the Message-Id of each recipient's message).")] public Output<IReadOnlyList<string>> MessageIds { get; set; } = new();
    [Output(Description = "One entry per recipient: email, accepted, messageId, error, inDoubt, failure.")] public Output<IReadOnlyList<EmailRecipientResult>> Results { get; set; } = new();
    [Output(Description = "Addresses whose message may have gone out although the answer was lost (an SMTP connection dropped after the message was transmitted, or a crash during the send). They were not sent again.")]
    public Output<IReadOnlyList<string>> InDoubtRecipients { get; set; } = new();
    [Output(Description = "How many addresses are in doubt (see InDoubtRecipients).")] public Output<int> InDoubtCount { get; set; } = new();
    [Output] public Output<string?> Error { get; set; } = new();

    protected override async ValueTask ExecuteAsync(ActivityExecutionContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        IEmailSender sender;
        EmailMessage message;
        try
        {
            sender = ActivityInputs.PickVendor(context.GetService<IEnumerable<IEmailSender>>() ?? [], context.Get(Vendor), "email");
            var to = ActivityInputs.ToList(context.Get(To));
            if (to.Count == 0) throw new VendorValidationException("to", "at least one recipient is required");
            var bad = to.Select((a, i) => (a, i)).FirstOrDefault(p => !System.Net.Mail.MailAddress.TryCreate(p.a, out _));
            if (bad.a is not null) throw new VendorValidationException($"to[{bad.i}]", "is not an email address");
            var subject = context.Get(Subject);
            var html = context.Get(HtmlContent);
            var text = context.Get(TextContent);
            if (string.IsNullOrWhiteSpace(subject)) throw new VendorValidationException("subject", "must not be empty");
            if (string.IsNullOrWhiteSpace(html) && string.IsNullOrWhiteSpace(text)) throw new VendorValidationException("htmlContent", "an HTML or a text body is required");
            message = new EmailMessage
            {
                To = to,
                Subject = subject,
                HtmlContent = html,
                TextContent = text,
                SenderName = context.Get(SenderName),
                From = context.Get(From),
                Placeholders = (context.Get(Placeholders) ?? []).ToDictionary(
                    p => p.Key, p => (IReadOnlyDictionary<string, string>)p.Value, StringComparer.OrdinalIgnoreCase),
                Attachments = (context.Get(Attachments) ?? []).Select(ToAttachment).ToArray(),
            };
        }
        catch (VendorValidationException ex)
        {
            await FailAsync(context, ex.Message);
            return;
        }

        // Same replay and in-doubt handling as SendSms/SendVoiceOtp, in the same store: an address sits in the records'
        // Mobile column, which has no length limit (TEXT on SQLite, text on PostgreSQL) and is matched only as text.
        var records = context.GetService<SendRecordStore>()!;
        var ct = context.CancellationToken;
        var key = ActivityInputs.IdempotencyKey(context.WorkflowInstanceId, Id, context.ExecutionKey);
        var send = await SendOnce<EmailOutputs>.FindAsync(records, SendOwner.Of(context, Id), key, [], ct);
        if (send.Completed is { } completed)
        {
            // This very execution already sent (a crash came before the workflow committed): replay what it completed with.
            await CompleteAsync(context, completed);
            return;
        }
        if (send.Interrupted)
        {
            // This execution died inside the vendor call before: whether those emails went out is unknown, and the
            // vendor has no idempotency key to dedupe a second post, so the workflow is told and decides.
            await send.EndInDoubtAsync(ct);
            var prior = send.Prior!;
            var error = $"a previous send attempt of this activity was interrupted; its outcome is unknown for {prior.InDoubt.Count} recipient(s), which were not sent again";
            context.Log("SendEmail: " + error);
            await CompleteAsync(context, new EmailOutputs(prior.InDoubt.Select(a => new EmailRecipientResult(a, false, null, error) { InDoubt = true }).ToArray(), [], error, Unknown));
            return;
        }

        using var span = SmsTelemetry.Source.StartActivity("sms.email", ActivityKind.Client);
        span?.SetTag("sms.vendor", sender.Vendor);
        var addresses = message.To.Distinct(StringComparer.Ordinal).ToArray();
        await send.StartAsync(sender.Vendor, addresses, ct);
        EmailOutputs outputs;
        IReadOnlyList<SmsRecipientOutcome> outcomes;
        try
        {
            var receipt = await sender.SendEmailAsync(message, ct);
            var accepted = receipt.Results.Where(r => r.Accepted).ToArray();
            var inDoubt = receipt.Results.Count(r => !r.Accepted && r.InDoubt);
            outputs = new EmailOutputs([.. receipt.Results], accepted.Where(r => r.MessageId != null).Select(r => r.MessageId!).ToArray(),
                receipt.Results.FirstOrDefault(r => !r.Accepted)?.Error, inDoubt > 0 ? Unknown : accepted.Length > 0 ? Sent : Failed);
            outcomes = receipt.Results.Select(r => new SmsRecipientOutcome(r.Email, receipt.Vendor, r.Accepted, r.MessageId, null, r.Error, null, 1, InDoubt: !r.Accepted && r.InDoubt)).ToArray();
            context.GetService<SmsTelemetry>()?.RecordSent(receipt.Vendor, "email", accepted.Length, receipt.Results.Count - accepted.Length - inDoubt, inDoubt);
        }
        catch (Exception ex) when (ex is VendorException or VendorValidationException or HttpRequestException)
        {
            // Refused as a whole: settled as rejected, so a repeated execution replays the failure rather than doubting it.
            var error = ex is VendorException v ? v.Message : ex.Message;
            context.Log("SendEmail failed: " + error);
            outputs = new EmailOutputs([], [], error, Failed);
            outcomes = addresses.Select(a => new SmsRecipientOutcome(a, sender.Vendor, false, null, null, error, null, 1)).ToArray();
            span?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, error);
            context.GetService<SmsTelemetry>()?.RecordSent(sender.Vendor, "email", 0, addresses.Length);
        }
        await send.CompleteAsync(outcomes, outputs, ct);
        await CompleteAsync(context, outputs);
    }

    /// <summary>Everything a send completes with: set live, and stored with the send records to be replayed by a repeated execution.</summary>
    private sealed record EmailOutputs(EmailRecipientResult[] Results, string[] MessageIds, string? Error, string Outcome);


    private async ValueTask CompleteAsync(ActivityExecutionContext context, EmailOutputs outputs)
    {
        context.Set(Results, outputs.Results);
        context.Set(MessageIds, outputs.MessageIds);
        var inDoubt = outputs.Results.Where(r => !r.Accepted && r.InDoubt).Select(r => r.Email).ToArray();
        context.Set(InDoubtRecipients, inDoubt);
        context.Set(InDoubtCount, inDoubt.Length);
        context.Set(Error, outputs.Error);
        await context.CompleteActivityAsync(outputs.Outcome);
    }

    private static EmailAttachment ToAttachment(EmailAttachmentInput input, int index)
    {
        if (string.IsNullOrWhiteSpace(input.FileName)) throw new VendorValidationException($"attachments[{index}].fileName", "must not be empty");
        try
        {
            return new EmailAttachment(input.FileName, input.ContentType ?? "application/octet-stream", Convert.FromBase64String(input.ContentBase64));
        }
        catch (FormatException)
        {
            throw new VendorValidationException($"attachments[{index}].contentBase64", "is not base64");
        }
    }

    private ValueTask FailAsync(ActivityExecutionContext context, string error)
    {
        context.Log("SendEmail failed: " + error);
        return CompleteAsync(context, new EmailOutputs([], [], error, Failed));
    }
}
