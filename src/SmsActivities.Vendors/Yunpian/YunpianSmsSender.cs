namespace SmsActivities.Vendors.Yunpian;

/// <summary>
/// Normalized Yunpian sender: a text goes to one number through <c>single_send</c> and to several through <c>batch_send</c>;
/// recipients with texts of their own through <c>multi_send</c>; a template (numeric <c>tpl_id</c>, named parameters filling
/// its <c>#name#</c> placeholders) through <c>tpl_single_send</c> and <c>tpl_batch_send</c>, one send per distinct set of
/// parameters; in chunks of 1000. The idempotency key goes out as <c>uid</c>.
/// Also pulls status and reply records for deployments without a public push URL.
/// </summary>
public sealed class YunpianSmsSender(YunpianClient client, Microsoft.Extensions.Options.IOptions<YunpianOptions> options, TimeProvider? time = null) : ISmsSender, IReportPuller, IReplyPuller, IVendorWarmup
{
    public string Vendor => VendorNames.Yunpian;

    public VendorCapabilities Capabilities =>
        VendorCapabilities.Sms | VendorCapabilities.TemplateSms | VendorCapabilities.InternationalSms | VendorCapabilities.PushReports
        | VendorCapabilities.PullReports | VendorCapabilities.Replies | VendorCapabilities.PullReplies;

    public int MaxRecipientsPerCall => YunpianFormat.MaxBatchSize;
    public int MaxTextLength => YunpianFormat.MaxTextLength;

    public int MaxConcurrentCalls => options.Value.MaxConcurrentCalls;

    public Task<SendReceipt> SendSmsAsync(SmsMessage message, CancellationToken cancellationToken = default)
    {
        SmsBatching.Validate(message, MaxTextLength);
        // Texts of their own go out together through multi_send (one text per number in one call); templates with
        // parameters of their own go out one send per distinct set of parameters.
        if (string.IsNullOrWhiteSpace(message.TemplateId) && SmsBatching.SplitByContent(message).Count > 1)
            return SmsBatching.SendInBatchesAsync(Vendor, message, MaxRecipientsPerCall, SendMultiBatchAsync, cancellationToken);
        return SmsBatching.SendEachContentAsync(Vendor, message, Prepare, cancellationToken);
    }

    /// <summary><c>single_send</c> and <c>batch_send</c>, answered in-process (one body reads as either answer).</summary>
    public Task WarmAsync(CancellationToken cancellationToken = default) =>
        VendorWarmup.SendSmsAnsweredLocallyAsync(this,
            """{"code":0,"msg":"OK","count":1,"fee":0.05,"unit":"RMB","mobile":"13900000000","sid":1,"total_count":2,"total_fee":0.1,"data":[{"code":0,"msg":"OK","count":1,"fee":0.05,"unit":"RMB","mobile":"13900000000","sid":1},{"code":0,"msg":"OK","count":1,"fee":0.05,"unit":"RMB","mobile":"13900000001","sid":2}]}""",
            recipients => new SmsMessage { Recipients = recipients, Text = "warm-up" }, cancellationToken);

    private Func<CancellationToken, Task<SendReceipt>> Prepare(SmsMessage message)
    {
        if (string.IsNullOrWhiteSpace(message.TemplateId))
            return ct => SmsBatching.SendInBatchesAsync(Vendor, message, MaxRecipientsPerCall, SendBatchAsync, ct);

        if (!long.TryParse(message.TemplateId, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var templateId) || templateId <= 0)
            throw new VendorValidationException("templateId", "Yunpian template ids (tpl_id) are positive numbers");
        if (!string.IsNullOrEmpty(message.CallbackUrl))
            throw new VendorValidationException("callbackUrl", "Yunpian's template sends take no callback_url; set the push address in the Yunpian console");
        return ct => SmsBatching.SendInBatchesAsync(Vendor, message, MaxRecipientsPerCall,
            (batch, _, token) => SendTemplateBatchAsync(batch, templateId, token), ct);
    }

    /// <summary>A batch whose recipients have texts of their own: <c>multi_send</c>, or <c>single_send</c> for one number.</summary>
    private async Task<IReadOnlyList<RecipientResult>> SendMultiBatchAsync(SmsMessage batch, int index, CancellationToken cancellationToken)
    {
        if (batch.Recipients.Count == 1)
            return await SendBatchAsync(batch with { Text = SmsBatching.TextFor(batch, batch.Recipients[0]), PerRecipient = null }, index, cancellationToken).ConfigureAwait(false);
        var request = new YunpianMultiSend(batch.Recipients.Select(YunpianFormat.ToWire).ToArray(), batch.Recipients.Select(r => SmsBatching.TextFor(batch, r)!).ToArray())
        {
            Extend = batch.Extend,
            Uid = batch.IdempotencyKey,
            CallbackUrl = batch.CallbackUrl is null ? null : new Uri(batch.CallbackUrl),
        };
        return Match(batch.Recipients, await client.MultiSendAsync(request, cancellationToken).ConfigureAwait(false), "multi_send");
    }

    private async Task<IReadOnlyList<RecipientResult>> SendTemplateBatchAsync(SmsMessage batch, long templateId, CancellationToken cancellationToken)
    {
        var request = new YunpianTemplateSend(batch.Recipients.Select(YunpianFormat.ToWire).ToArray(), templateId, batch.TemplateParams)
        {
            Extend = batch.Extend,
            Uid = batch.IdempotencyKey,
        };
        if (batch.Recipients.Count == 1)
            return [ToResult(batch.Recipients[0], await client.TemplateSingleSendAsync(request, cancellationToken).ConfigureAwait(false))];
        return Match(batch.Recipients, await client.TemplateBatchSendAsync(request, cancellationToken).ConfigureAwait(false), "tpl_batch_send");
    }

    private async Task<IReadOnlyList<RecipientResult>> SendBatchAsync(SmsMessage batch, int index, CancellationToken cancellationToken)
    {
        var callback = batch.CallbackUrl is null ? null : new Uri(batch.CallbackUrl);
        if (batch.Recipients.Count == 1)
        {
            var recipient = batch.Recipients[0];
            var single = await client.SingleSendAsync(
                new YunpianSingleSend(YunpianFormat.ToWire(recipient), batch.Text!) { Extend = batch.Extend, Uid = batch.IdempotencyKey, CallbackUrl = callback },
                cancellationToken).ConfigureAwait(false);
            return [ToResult(recipient, single)];
        }

        var result = await client.BatchSendAsync(
            new YunpianBatchSend(batch.Recipients.Select(YunpianFormat.ToWire).ToArray(), batch.Text!) { Extend = batch.Extend, Uid = batch.IdempotencyKey, CallbackUrl = callback },
            cancellationToken).ConfigureAwait(false);
        return Match(batch.Recipients, result, "batch_send");
    }

    /// <summary>Yunpian answers a batch per number in the order the numbers were sent.</summary>
    private RecipientResult[] Match(IReadOnlyList<PhoneNumber> recipients, YunpianBatchResult result, string api)
    {
        // The call went through but cannot be matched: which numbers got the message is not known.
        if (result.Data.Count != recipients.Count)
            throw new VendorException(Vendor, null, $"{api} answered for {result.Data.Count} of {recipients.Count} numbers", VendorFailureKind.UnknownOutcome);
        return recipients.Select((r, i) => ToResult(r, result.Data[i])).ToArray();
    }

    private static RecipientResult ToResult(PhoneNumber recipient, YunpianSendResult result) =>
        result.Code == 0
            ? new RecipientResult(recipient.E164, true, result.Sid.ToString(System.Globalization.CultureInfo.InvariantCulture), "0", null, result.Fee)
            : new RecipientResult(recipient.E164, false, null, result.Code.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Msg);

    public async Task<IReadOnlyList<DeliveryReport>> PullDeliveryReportsAsync(CancellationToken cancellationToken = default)
    {
        var records = await client.PullStatusAsync(YunpianFormat.MaxPageSize, cancellationToken).ConfigureAwait(false);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        return records.Select(r => YunpianStatusReader.ToReport(r, now, options.Value.DefaultRegion ?? PhoneNumber.FallbackRegion)).ToArray();
    }

    public async Task<IReadOnlyList<InboundReply>> PullRepliesAsync(CancellationToken cancellationToken = default)
    {
        var records = await client.PullReplyAsync(YunpianFormat.MaxPageSize, cancellationToken).ConfigureAwait(false);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        return records.Select(r => YunpianReplyReader.ToReply(r, now, options.Value.DefaultRegion ?? PhoneNumber.FallbackRegion)).OfType<InboundReply>().ToArray();
    }
}
