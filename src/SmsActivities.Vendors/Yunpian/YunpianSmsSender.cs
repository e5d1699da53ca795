namespace SmsActivities.Vendors.Yunpian;

/// <summary>
/// Normalized Yunpian sender: plain text (Yunpian v2 text API, no templates), one number through
/// <c>single_send</c>, several through <c>batch_send</c> in chunks of 1000. The idempotency key goes out as <c>uid</c>.
/// Also pulls status and reply records for deployments without a public push URL.
/// </summary>
public sealed class YunpianSmsSender(YunpianClient client, Microsoft.Extensions.Options.IOptions<YunpianOptions> options, TimeProvider? time = null) : ISmsSender, IReportPuller, IReplyPuller
{
    public string Vendor => VendorNames.Yunpian;

    public VendorCapabilities Capabilities =>
        VendorCapabilities.Sms | VendorCapabilities.InternationalSms | VendorCapabilities.PushReports
        | VendorCapabilities.PullReports | VendorCapabilities.Replies | VendorCapabilities.PullReplies;

    public int MaxRecipientsPerCall => YunpianFormat.MaxBatchSize;
    public int MaxTextLength => YunpianFormat.MaxTextLength;

    public Task<SendReceipt> SendSmsAsync(SmsMessage message, CancellationToken cancellationToken = default)
    {
        SmsBatching.Validate(message, MaxTextLength, templateSupported: false);
        return SmsBatching.SendInBatchesAsync(Vendor, message, MaxRecipientsPerCall, SendBatchAsync, cancellationToken);
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
        if (result.Data.Count != batch.Recipients.Count)
            throw new VendorException(Vendor, null, $"batch_send answered for {result.Data.Count} of {batch.Recipients.Count} numbers", isTransient: false);
        // Yunpian answers in the order the numbers were sent.
        return batch.Recipients.Select((r, i) => ToResult(r, result.Data[i])).ToArray();
    }

    private static RecipientResult ToResult(PhoneNumber recipient, YunpianSendResult result) =>
        result.Code == 0
            ? new RecipientResult(recipient.E164, true, result.Sid.ToString(System.Globalization.CultureInfo.InvariantCulture), "0", null, result.Fee)
            : new RecipientResult(recipient.E164, false, null, result.Code.ToString(System.Globalization.CultureInfo.InvariantCulture), result.Msg);

    public async Task<IReadOnlyList<DeliveryReport>> PullDeliveryReportsAsync(CancellationToken cancellationToken = default)
    {
        var records = await client.PullStatusAsync(YunpianFormat.MaxPageSize, cancellationToken).ConfigureAwait(false);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        return records.Select(r => YunpianStatusReader.ToReport(r, now, options.Value.DefaultRegion)).ToArray();
    }

    public async Task<IReadOnlyList<InboundReply>> PullRepliesAsync(CancellationToken cancellationToken = default)
    {
        var records = await client.PullReplyAsync(YunpianFormat.MaxPageSize, cancellationToken).ConfigureAwait(false);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        return records.Select(r => YunpianReplyReader.ToReply(r, now, options.Value.DefaultRegion)).OfType<InboundReply>().ToArray();
    }
}
