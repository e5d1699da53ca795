using System.Globalization;

namespace SmsActivities.Vendors.SendCloud;

/// <summary>
/// Normalized SendCloud sender. SMS go out by template only (<c>smsapi/send</c>, 2000 numbers a call, template
/// parameters as <c>vars</c>); voice OTP through <c>sendVoice</c>. The idempotency key goes out as <c>sendRequestId</c>:
/// when SendCloud answers "duplicate request" the message was already taken, so the recipients count as accepted
/// (without ids) rather than being sent again.
/// </summary>
public sealed class SendCloudSmsSender(SendCloudClient client, Microsoft.Extensions.Options.IOptions<SendCloudOptions> options) : ISmsSender, IVoiceOtpSender, IVendorWarmup
{
    public string Vendor => VendorNames.SendCloud;

    public VendorCapabilities Capabilities =>
        VendorCapabilities.Sms | VendorCapabilities.TemplateSms | VendorCapabilities.InternationalSms
        | VendorCapabilities.VoiceOtp | VendorCapabilities.PushReports | VendorCapabilities.Replies;

    public int MaxRecipientsPerCall => SendCloudFormat.MaxRecipients;
    public int MaxTextLength => SendCloudFormat.MaxTextLength;

    public int MaxConcurrentCalls => options.Value.MaxConcurrentCalls;

    public Task<SendReceipt> SendSmsAsync(SmsMessage message, CancellationToken cancellationToken = default)
    {
        SmsBatching.Validate(message, MaxTextLength);
        if (!string.IsNullOrEmpty(message.Text) || message.PerRecipient?.Values.Any(c => c?.Text is not null) == true)
            throw new VendorValidationException("text", "SendCloud sends templates only: give templateId and templateParams instead of text");
        if (!int.TryParse(message.TemplateId, NumberStyles.None, CultureInfo.InvariantCulture, out var templateId))
            throw new VendorValidationException("templateId", "SendCloud template ids are numbers");
        var international = !message.Recipients[0].IsChinaMainland;
        if (message.Recipients.Any(r => r.IsChinaMainland == international))
            throw new VendorValidationException("recipients", "SendCloud sends mainland and international numbers in separate calls (msgType 0 / 2): split them");

        // All numbers of a call get the same vars, so recipients with parameters of their own go out one send per set.
        return SmsBatching.SendEachContentAsync(Vendor, message, part => ct => SendTemplateAsync(part, templateId, international, ct), cancellationToken);
    }

    /// <summary>A template send, answered in-process.</summary>
    public Task WarmAsync(CancellationToken cancellationToken = default) =>
        VendorWarmup.SendSmsAnsweredLocallyAsync(this,
            """{"result":true,"statusCode":200,"message":"request success","info":{"successCount":2,"failedCount":0,"items":[],"smsIds":["warm-up$13900000000","warm-up$13900000001"]}}""",
            recipients => new SmsMessage { Recipients = recipients, TemplateId = "1", TemplateParams = [new("code", "0")] }, cancellationToken);

    private Task<SendReceipt> SendTemplateAsync(SmsMessage message, int templateId, bool international, CancellationToken cancellationToken)
    {
        var vars = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in message.TemplateParams) vars[name] = value;
        return SmsBatching.SendInBatchesAsync(Vendor, message, MaxRecipientsPerCall, async (batch, _, ct) =>
        {
            var request = new SendCloudTemplateSend(templateId, batch.Recipients.Select(SendCloudFormat.ToWire).ToArray())
            {
                Vars = vars,
                MsgType = international ? SendCloudFormat.MsgTypeInternational : SendCloudFormat.MsgTypeSms,
                SendRequestId = batch.IdempotencyKey,
                LabelId = options.Value.LabelId,
            };
            try
            {
                return Match(batch.Recipients, await client.SendAsync(request, ct).ConfigureAwait(false));
            }
            catch (VendorException ex) when (IsDuplicate(ex))
            {
                return AlreadySent(batch.Recipients, ex);
            }
        }, cancellationToken);
    }

    public async Task<SendReceipt> SendVoiceOtpAsync(VoiceOtpRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!SendCloudFormat.IsValidCode(request.Code)) throw new VendorValidationException("code", "must be 4 to 6 digits");
        if (request.Recipient.NationalNumber is null) throw new VendorValidationException("recipient", "must be a parsed phone number");
        IReadOnlyList<RecipientResult> results;
        try
        {
            var info = await client.SendVoiceAsync(new SendCloudVoiceSend(SendCloudFormat.ToWire(request.Recipient), request.Code)
            {
                SendRequestId = request.IdempotencyKey,
            }, cancellationToken).ConfigureAwait(false);
            results = Match([request.Recipient], info);
        }
        catch (VendorException ex) when (IsDuplicate(ex))
        {
            results = AlreadySent([request.Recipient], ex);
        }
        return new SendReceipt(Vendor, results);
    }

    private static bool IsDuplicate(VendorException ex) => ex.VendorCode == SendCloudClient.DuplicateRequest.ToString(CultureInfo.InvariantCulture);

    private static RecipientResult[] AlreadySent(IReadOnlyList<PhoneNumber> recipients, VendorException ex) =>
        recipients.Select(r => new RecipientResult(r.E164, true, null, ex.VendorCode, "already sent under this sendRequestId")).ToArray();

    /// <summary>smsIds end in "$phone" and refused numbers come back in items: pair both with the recipients, in their order.</summary>
    private static RecipientResult[] Match(IReadOnlyList<PhoneNumber> recipients, SendCloudSendInfo info)
    {
        var ids = (info.SmsIds ?? []).GroupBy(id => SendCloudSendInfo.PhoneOf(id) ?? string.Empty)
            .ToDictionary(g => g.Key, g => new Queue<string>(g), StringComparer.Ordinal);
        var failures = (info.Items ?? []).Where(i => i.Phone is not null).GroupBy(i => i.Phone!)
            .ToDictionary(g => g.Key, g => g.First().Message, StringComparer.Ordinal);
        return recipients.Select(r =>
        {
            var wire = SendCloudFormat.ToWire(r);
            if (ids.TryGetValue(wire, out var queue) && queue.TryDequeue(out var id)) return new RecipientResult(r.E164, true, id);
            return new RecipientResult(r.E164, false, null, null, failures.GetValueOrDefault(wire) ?? "SendCloud returned no smsId for this number");
        }).ToArray();
    }
}
