using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.Yaningai;

/// <summary>An MMS for <see cref="YaningaiSender.SendMmsAsync"/>.</summary>
public sealed record YaningaiMmsMessage
{
    public required IReadOnlyList<PhoneNumber> Recipients { get; init; }
    public required string Title { get; init; }
    public string? Text { get; init; }
    public string? TemplateId { get; init; }
    public IReadOnlyList<string> TemplateParams { get; init; } = [];
    /// <summary>png, jpg, jpeg, bmp, gif, webp, psd, svg, tiff, mp3, wav, txt or vcf; at most 100 KB in total.</summary>
    public IReadOnlyList<EmailAttachment> Attachments { get; init; } = [];
}

/// <summary>
/// YANINGAI behind the normalized contracts: SMS, MMS, voice notice, voice OTP and email. Recipients are grouped
/// by country (one <c>codeId</c> per call), split over the per-call limit and merged back in caller order.
/// YANINGAI has no pull API (its doc lists only the submit calls and pushes), so reports and replies come by webhook only.
/// Push addresses are set in the YANINGAI console, so <see cref="SmsMessage.CallbackUrl"/> is not sent; the sender
/// shown is the account's <c>senderId</c> (<see cref="YaningaiOptions.SenderId"/>), not <see cref="SmsMessage.SignName"/>.
/// </summary>
public sealed class YaningaiSender(YaningaiClient client, IOptions<YaningaiOptions> options) : ISmsSender, IVoiceOtpSender, IEmailSender, IVendorWarmup
{
    private readonly YaningaiOptions _options = options.Value;

    public string Vendor => VendorNames.Yaningai;

    public VendorCapabilities Capabilities =>
        VendorCapabilities.Sms | VendorCapabilities.TemplateSms | VendorCapabilities.InternationalSms | VendorCapabilities.Mms
        | VendorCapabilities.VoiceOtp | VendorCapabilities.VoiceNotice | VendorCapabilities.Email
        | VendorCapabilities.PushReports | VendorCapabilities.Replies;

    /// <summary>POST allows 10000 numbers (GET only 1000), so the normalized sender always posts.</summary>
    public int MaxRecipientsPerCall => YaningaiClient.MaxNumbersPerPost;

    public int MaxTextLength => _options.MaxTextLength;

    public int MaxConcurrentCalls => _options.MaxConcurrentCalls;

    public Task<SendReceipt> SendSmsAsync(SmsMessage message, CancellationToken cancellationToken = default)
    {
        SmsBatching.Validate(message, MaxTextLength);
        var action = message.Kind switch
        {
            SmsKind.Verification => YaningaiAction.Verify,
            SmsKind.Marketing => YaningaiAction.Marketing,
            _ => YaningaiAction.Notification,
        };
        // An unknown country refuses the whole send before the first part of it goes out.
        _ = message.Recipients.DistinctBy(r => r.Region).Select(CodeIdFor).ToArray();
        // One content a call: recipients with texts or parameters of their own go out one send per content.
        return SmsBatching.SendEachContentAsync(Vendor, message, part => ct => SendPerCountryAsync(part.Recipients, (numbers, codeId, token) =>
            client.SendBatchSmsAsync(new YaningaiSmsRequest
            {
                Numbers = numbers,
                CodeId = codeId,
                Action = action,
                Content = NullIfBlank(part.Text),
                TemplateId = NullIfBlank(part.TemplateId),
                TemplateParams = part.TemplateParams.Select(p => p.Value).ToArray(),
                SenderId = _options.SenderId,
                Routing = _options.Routing,
            }, YaningaiSmsMethod.Post, token), ct), cancellationToken);
    }

    /// <summary><c>sendbatchsms</c>, answered in-process.</summary>
    public Task WarmAsync(CancellationToken cancellationToken = default) =>
        VendorWarmup.SendSmsAnsweredLocallyAsync(this,
            """{"status":0,"message":"OK","data":{"success":2,"fail":0,"batchNo":"warm-up","successData":[{"phone":"8613900000000","messageId":"warm-up-1"},{"phone":"8613900000001","messageId":"warm-up-2"}],"failData":[]}}""",
            recipients => new SmsMessage { Recipients = recipients, Text = "warm-up" }, cancellationToken);

    public Task<SendReceipt> SendMmsAsync(YaningaiMmsMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        CheckRecipients(message.Recipients);
        CheckText(message.Text, message.TemplateId);
        if (string.IsNullOrWhiteSpace(message.Title)) throw new VendorValidationException("title", "an MMS subject is required");
        YaningaiClient.CheckMmsAttachments(message.Attachments);
        return SendPerCountryAsync(message.Recipients, (numbers, codeId, ct) => client.SendMmsAsync(new YaningaiMmsRequest
        {
            Numbers = numbers,
            CodeId = codeId,
            Title = message.Title,
            Content = NullIfBlank(message.Text),
            TemplateId = NullIfBlank(message.TemplateId),
            TemplateParams = message.TemplateParams,
            Attachments = message.Attachments,
            SenderId = _options.SenderId,
            Routing = _options.Routing,
        }, ct), cancellationToken);
    }

    /// <summary>
    /// vos/notice. YANINGAI answers only with counts and a batch number (no per-number ids), so the receipt
    /// carries <see cref="SendReceipt.BatchId"/> and the voice reports name the message ids later.
    /// </summary>
    public Task<SendReceipt> SendVoiceNoticeAsync(VoiceNoticeRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckRecipients(request.Recipients);
        CheckText(request.Text, request.TemplateId);
        var templateParams = request.TemplateParams.Select(p => p.Value).ToArray();
        return SendPerCountryAsync(request.Recipients, (numbers, codeId, ct) => client.SendVoiceNoticeAsync(new YaningaiVoiceRequest
        {
            Numbers = numbers,
            CodeId = codeId,
            Content = NullIfBlank(request.Text),
            TemplateId = NullIfBlank(request.TemplateId),
            TemplateParams = templateParams,
            ShowPhone = _options.ShowPhone,
            Routing = _options.Routing,
        }, ct), cancellationToken);
    }

    /// <summary>vos/otp: the code is the content read out, or the single parameter of <see cref="VoiceOtpRequest.TemplateId"/>.</summary>
    public Task<SendReceipt> SendVoiceOtpAsync(VoiceOtpRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Code) || request.Code.Length > 10 || !request.Code.All(char.IsAsciiLetterOrDigit))
            throw new VendorValidationException("code", "1 to 10 letters or digits are required");
        CheckRecipients([request.Recipient]);
        var hasTemplate = !string.IsNullOrWhiteSpace(request.TemplateId);
        return SendPerCountryAsync([request.Recipient], (numbers, codeId, ct) => client.SendVoiceOtpAsync(new YaningaiVoiceRequest
        {
            Numbers = numbers,
            CodeId = codeId,
            Content = hasTemplate ? null : request.Code,
            TemplateId = hasTemplate ? request.TemplateId : null,
            TemplateParams = hasTemplate ? [request.Code] : [],
            ShowPhone = _options.ShowPhone,
            Routing = _options.Routing,
        }, ct), cancellationToken);
    }

    public async Task<EmailReceipt> SendEmailAsync(EmailMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.To is null || message.To.Count == 0) throw new VendorValidationException("to", "at least one recipient is required");
        foreach (var to in message.To)
        {
            if (!YaningaiClient.IsEmailAddress(to)) throw new VendorValidationException("to", $"'{PhoneNumber.Mask(to ?? string.Empty)}' is not an email address");
        }
        var from = NullIfBlank(message.SenderName) ?? NullIfBlank(message.From) ?? NullIfBlank(_options.EmailFrom)
            ?? throw new VendorValidationException("senderName", "a sender name is required (or set Vendors:Yaningai:EmailFrom)");
        if (string.IsNullOrWhiteSpace(message.Subject)) throw new VendorValidationException("subject", "a subject is required");
        if (string.IsNullOrWhiteSpace(message.HtmlContent)) throw new VendorValidationException("htmlContent", "content is required");

        var results = new List<EmailRecipientResult>(message.To.Count);
        foreach (var chunk in message.To.Chunk(YaningaiClient.MaxEmailsPerPost))
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var answer = await client.SendEmailAsync(new YaningaiEmailRequest
                {
                    Recipients = chunk.Select(to => new YaningaiEmailRecipient(to, message.Placeholders.GetValueOrDefault(to))).ToArray(),
                    From = from,
                    Theme = message.Subject,
                    Content = message.HtmlContent,
                    Attachments = message.Attachments,
                    Routing = _options.Routing,
                }, cancellationToken).ConfigureAwait(false);
                results.AddRange(Match(chunk, answer, to => [to], (to, id) => new EmailRecipientResult(to, true, id), (to, id, error) => new EmailRecipientResult(to, false, id, error)));
            }
            catch (VendorException ex)
            {
                results.AddRange(chunk.Select(to => new EmailRecipientResult(to, false, null, $"[{ex.VendorCode ?? "-"}] {ex.VendorMessage}")
                {
                    InDoubt = ex.OutcomeUnknown,
                    Failure = ex.Kind,
                }));
            }
        }
        return new EmailReceipt(Vendor, results);
    }

    private delegate Task<YaningaiSubmitResult> CountryCall(IReadOnlyList<string> numbers, string codeId, CancellationToken cancellationToken);

    /// <summary>
    /// One codeId per call, so recipients are grouped by country; each group goes through the shared batching
    /// (split over the limit, failed batches marked per recipient) and results are put back in caller order.
    /// </summary>
    private async Task<SendReceipt> SendPerCountryAsync(IReadOnlyList<PhoneNumber> recipients, CountryCall call, CancellationToken cancellationToken)
    {
        // Resolve every codeId first: an unknown country fails the whole send before any call.
        var codeIds = recipients.DistinctBy(r => r.Region).ToDictionary(r => r.Region, CodeIdFor);
        var results = new RecipientResult[recipients.Count];
        var batchNumbers = new List<string>();
        foreach (var group in recipients.Select((recipient, index) => (recipient, index)).GroupBy(x => x.recipient.Region))
        {
            var members = group.ToArray();
            // SmsBatching only needs the recipients here; the call itself is built by the caller's delegate.
            var carrier = new SmsMessage { Recipients = members.Select(m => m.recipient).ToArray() };
            var receipt = await SmsBatching.SendInBatchesAsync(Vendor, carrier, MaxRecipientsPerCall, async (batch, _, ct) =>
            {
                var numbers = batch.Recipients.Select(YaningaiCountryCodes.ToVendorNumber).ToArray();
                var answer = await call(numbers, codeIds[group.Key], ct).ConfigureAwait(false);
                if (answer.BatchNo is not null) batchNumbers.Add(answer.BatchNo); // batches run one after another
                return Match(batch.Recipients, answer,
                    r => [YaningaiCountryCodes.ToReportedNumber(r), YaningaiCountryCodes.ToVendorNumber(r)],
                    (r, id) => new RecipientResult(r.E164, true, id),
                    (r, id, error) => new RecipientResult(r.E164, false, id, null, error));
            }, cancellationToken).ConfigureAwait(false);
            for (var i = 0; i < members.Length; i++) results[members[i].index] = receipt.Results[i];
        }
        return new SendReceipt(Vendor, results) { BatchId = batchNumbers.Count == 0 ? null : string.Join(',', batchNumbers) };
    }

    /// <summary>Pairs each target with the vendor's per-target answer; endpoints that answer only with counts accept the whole call.</summary>
    private static List<TResult> Match<TTarget, TResult>(
        IReadOnlyList<TTarget> targets,
        YaningaiSubmitResult answer,
        Func<TTarget, string[]> keysOf,
        Func<TTarget, string?, TResult> accepted,
        Func<TTarget, string?, string, TResult> rejected)
    {
        var acceptedByTarget = Queues(answer.Accepted);
        var rejectedByTarget = Queues(answer.Rejected);
        var results = new List<TResult>(targets.Count);
        foreach (var target in targets)
        {
            var keys = keysOf(target);
            if (TryTake(acceptedByTarget, keys, out var ok)) results.Add(accepted(target, ok.MessageId));
            else if (TryTake(rejectedByTarget, keys, out var refused)) results.Add(rejected(target, refused.MessageId, "refused by YANINGAI"));
            else if (answer.HasDetail) results.Add(rejected(target, null, "not named in YANINGAI's answer"));
            else if (answer.Success == 0 && answer.Fail > 0) results.Add(rejected(target, null, $"YANINGAI refused all {answer.Fail}"));
            else results.Add(accepted(target, null));
        }
        return results;
    }

    private static Dictionary<string, Queue<YaningaiSubmission>> Queues(IReadOnlyList<YaningaiSubmission> submissions)
    {
        var byTarget = new Dictionary<string, Queue<YaningaiSubmission>>(StringComparer.OrdinalIgnoreCase);
        foreach (var submission in submissions)
        {
            if (!byTarget.TryGetValue(submission.Target, out var queue)) byTarget[submission.Target] = queue = new Queue<YaningaiSubmission>();
            queue.Enqueue(submission);
        }
        return byTarget;
    }

    private static bool TryTake(Dictionary<string, Queue<YaningaiSubmission>> byTarget, string[] keys, out YaningaiSubmission submission)
    {
        foreach (var key in keys)
        {
            if (byTarget.TryGetValue(key, out var queue) && queue.TryDequeue(out submission!)) return true;
        }
        submission = null!;
        return false;
    }

    /// <summary>The codeId of the number's region ("CN"); a calling-code entry ("86") stands for every region that shares the code.</summary>
    private string CodeIdFor(PhoneNumber number)
    {
        var callingCode = number.CountryCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (_options.CodeIds.TryGetValue(number.Region, out var codeId) && !string.IsNullOrWhiteSpace(codeId)) return codeId;
        if (_options.CodeIds.TryGetValue(callingCode, out codeId) && !string.IsNullOrWhiteSpace(codeId)) return codeId;
        throw new VendorValidationException("recipients",
            $"no YANINGAI codeId is configured for region {number.Region} (+{callingCode}); set Vendors:Yaningai:CodeIds:{number.Region}");
    }

    private static void CheckRecipients(IReadOnlyList<PhoneNumber>? recipients)
    {
        if (recipients is null || recipients.Count == 0) throw new VendorValidationException("recipients", "at least one recipient is required");
        if (recipients.Any(r => r.NationalNumber is null)) throw new VendorValidationException("recipients", "every recipient must be a parsed phone number");
    }

    private void CheckText(string? text, string? templateId)
    {
        if (string.IsNullOrWhiteSpace(text) && string.IsNullOrWhiteSpace(templateId))
            throw new VendorValidationException("text", "either text or templateId is required");
        if (text is not null && text.Length > MaxTextLength)
            throw new VendorValidationException("text", $"at most {MaxTextLength} characters are allowed, got {text.Length}");
    }

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
