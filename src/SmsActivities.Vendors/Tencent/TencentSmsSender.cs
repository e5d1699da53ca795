using System.Globalization;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.Tencent;

/// <summary>
/// Tencent behind the normalized contracts. China mainland recipients of a batch go out in one
/// <c>sendmultisms2</c> call (≤200), a lone one or a number abroad by <c>sendsms</c> with its nationcode
/// (<c>sendmultisms2</c> serves China only). Recipients with contents of their own go out one send per distinct content
/// (Tencent has no call with a text per number). Results come back in recipient order.
/// </summary>
public sealed class TencentSmsSender(TencentSmsClient client, IOptions<TencentOptions> options, TimeProvider? timeProvider = null)
    : ISmsSender, IReportPuller, IReplyPuller, IVendorWarmup
{
    public const int MaxText = 450;

    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public string Vendor => VendorNames.Tencent;

    public VendorCapabilities Capabilities =>
        VendorCapabilities.Sms | VendorCapabilities.TemplateSms | VendorCapabilities.InternationalSms |
        VendorCapabilities.PushReports | VendorCapabilities.PullReports | VendorCapabilities.Replies | VendorCapabilities.PullReplies;

    public int MaxRecipientsPerCall => TencentSmsClient.MaxMobilesPerMultiSend;

    public int MaxTextLength => MaxText;

    public int MaxConcurrentCalls => options.Value.MaxConcurrentCalls;

    public Task<SendReceipt> SendSmsAsync(SmsMessage message, CancellationToken cancellationToken = default)
    {
        SmsBatching.Validate(message, MaxText);
        // Tencent takes one content a call: recipients with texts or parameters of their own go out one send per content.
        return SmsBatching.SendEachContentAsync(Vendor, message, part =>
        {
            var content = ToContent(part);
            return ct => SmsBatching.SendInBatchesAsync(Vendor, part, MaxRecipientsPerCall,
                (batch, _, token) => SendBatchAsync(batch.Recipients, content, token), ct);
        }, cancellationToken);
    }

    /// <summary><c>sendsms</c> and <c>sendmultisms2</c>, answered in-process (one body reads as either answer).</summary>
    public Task WarmAsync(CancellationToken cancellationToken = default) =>
        VendorWarmup.SendSmsAnsweredLocallyAsync(this,
            """{"result":0,"errmsg":"OK","ext":"","sid":"warm-up","fee":1,"detail":[{"result":0,"errmsg":"OK","mobile":"13900000000","nationcode":"86","sid":"warm-up","fee":1},{"result":0,"errmsg":"OK","mobile":"13900000001","nationcode":"86","sid":"warm-up","fee":1}]}""",
            recipients => new SmsMessage { Recipients = recipients, Text = "warm-up" }, cancellationToken);

    public async Task<IReadOnlyList<DeliveryReport>> PullDeliveryReportsAsync(CancellationToken cancellationToken = default)
    {
        var pulled = await client.PullStatusAsync(TencentSmsClient.MaxPull, cancellationToken).ConfigureAwait(false);
        var now = _time.GetUtcNow();
        return pulled.Data.Select(r => TencentMapping.TryToReport(r, now, out var report, out _) ? report : null).OfType<DeliveryReport>().ToArray();
    }

    public async Task<IReadOnlyList<InboundReply>> PullRepliesAsync(CancellationToken cancellationToken = default)
    {
        var pulled = await client.PullRepliesAsync(TencentSmsClient.MaxPull, cancellationToken).ConfigureAwait(false);
        return pulled.Data.Select(r => TencentMapping.TryToReply(r, out var reply, out _) ? reply : null).OfType<InboundReply>().ToArray();
    }

    private TencentSmsContent ToContent(SmsMessage message)
    {
        var sign = message.SignName ?? options.Value.DefaultSign;
        if (!string.IsNullOrWhiteSpace(message.TemplateId))
        {
            if (!int.TryParse(message.TemplateId, NumberStyles.None, CultureInfo.InvariantCulture, out var templateId))
                throw new VendorValidationException("templateId", "Tencent template ids are numbers (tpl_id)");
            // Tencent parameters are positional ({1}, {2}, …): the caller's order is kept, names are ignored.
            return TencentSmsContent.Template(templateId, message.TemplateParams.Select(p => p.Value).ToArray()) with
            {
                Sign = sign,
                Extend = message.Extend,
            };
        }
        // Tencent counts the 【sign】 the client puts at the head of a text against the 450 characters.
        var signed = string.IsNullOrEmpty(sign) || message.Text!.StartsWith('【') ? message.Text!.Length : message.Text.Length + sign.Length + 2;
        if (signed > MaxText)
            throw new VendorValidationException("text", $"at most {MaxText} characters are allowed including the 【{sign}】 signature, got {signed}");
        return TencentSmsContent.PlainText(message.Text!, message.Kind == SmsKind.Marketing) with { Sign = sign, Extend = message.Extend };
    }

    private async Task<IReadOnlyList<RecipientResult>> SendBatchAsync(IReadOnlyList<PhoneNumber> recipients, TencentSmsContent content, CancellationToken ct)
    {
        var results = new RecipientResult[recipients.Count];
        var china = Enumerable.Range(0, recipients.Count).Where(i => recipients[i].IsChinaMainland).ToArray();
        if (china.Length > 1)
            await SendMultiAsync(recipients, china, content, results, ct).ConfigureAwait(false);
        // What is left, numbers abroad or a lone China number, goes one by one through sendsms.
        for (var i = 0; i < recipients.Count; i++)
            results[i] ??= await SendOneAsync(recipients[i], content, ct).ConfigureAwait(false);
        return results;
    }

    private async Task<RecipientResult> SendOneAsync(PhoneNumber number, TencentSmsContent content, CancellationToken ct)
    {
        try
        {
            var sent = await client.SendSmsAsync(TencentTel.From(number), content, ct).ConfigureAwait(false);
            return new RecipientResult(number.E164, true, sent.Sid, "0", null, sent.Fee);
        }
        catch (VendorException ex)
        {
            return ex.ResultFor(number.E164);
        }
    }

    private async Task SendMultiAsync(IReadOnlyList<PhoneNumber> recipients, int[] indexes, TencentSmsContent content, RecipientResult[] results, CancellationToken ct)
    {
        try
        {
            var sent = await client.SendMultiSmsAsync(indexes.Select(i => TencentTel.From(recipients[i])).ToArray(), content, ct).ConfigureAwait(false);
            // Details name their number; a number given twice has two details, taken in order.
            var details = sent.Detail.ToLookup(d => d.Nationcode + "|" + d.Mobile);
            var used = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var i in indexes)
            {
                var tel = TencentTel.From(recipients[i]);
                var key = tel.Nationcode + "|" + tel.Mobile;
                var n = used.GetValueOrDefault(key);
                used[key] = n + 1;
                var detail = details[key].ElementAtOrDefault(n);
                results[i] = detail is null
                    ? new RecipientResult(recipients[i].E164, false, null, null, "no detail for this number in the answer") { InDoubt = true }
                    : new RecipientResult(recipients[i].E164, detail.Result == 0, detail.Sid,
                        detail.Result.ToString(CultureInfo.InvariantCulture), detail.Result == 0 ? null : detail.Errmsg, detail.Fee);
            }
        }
        catch (VendorException ex)
        {
            foreach (var i in indexes) results[i] = ex.ResultFor(recipients[i].E164);
        }
    }
}
