namespace SmsActivities.Vendors;

/// <summary>The vendors the project speaks to. The string form is the stable key used in configuration, bookmarks and stores.</summary>
public static class VendorNames
{
    public const string Yunpian = "yunpian";
    public const string Tencent = "tencent";
    public const string SendCloud = "sendcloud";
    public const string Yaningai = "yaningai";
    /// <summary>Any SMTP server (email only).</summary>
    public const string Smtp = "smtp";

    /// <summary>The SMS vendors, each with an HTTP API and an emulator in sandbox mode.</summary>
    public static IReadOnlyList<string> All { get; } = [Yunpian, Tencent, SendCloud, Yaningai];

    /// <summary>Every channel provider: the SMS vendors, then SMTP.</summary>
    public static IReadOnlyList<string> Providers { get; } = [.. All, Smtp];
}

/// <summary>What a vendor can do, so callers can ask before they call.</summary>
[Flags]
public enum VendorCapabilities
{
    None = 0,
    Sms = 1 << 0,
    TemplateSms = 1 << 1,
    InternationalSms = 1 << 2,
    Mms = 1 << 3,
    VoiceOtp = 1 << 4,
    VoiceNotice = 1 << 5,
    Email = 1 << 6,
    PushReports = 1 << 7,
    PullReports = 1 << 8,
    Replies = 1 << 9,
    PullReplies = 1 << 10,
}

/// <summary>One SMS to one or many recipients: either plain <see cref="Text"/> or a template with parameters.</summary>
/// <param name="TemplateParams">Ordered name/value pairs. Vendors that take positional parameters (Tencent) use the order; named ones (Yunpian, SendCloud) use the names.</param>
/// <param name="IdempotencyKey">Deterministic key passed to the vendor where it has one (SendCloud sendRequestId, Yunpian uid), so a retried call is not sent twice.</param>
public sealed record SmsMessage
{
    public required IReadOnlyList<PhoneNumber> Recipients { get; init; }
    public string? Text { get; init; }
    public string? TemplateId { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> TemplateParams { get; init; } = [];

    /// <summary>
    /// Content of its own for some recipients, keyed by their E.164 number; a recipient not listed gets
    /// <see cref="Text"/> and <see cref="TemplateParams"/>. Keyed by number rather than by position so that a subset of
    /// the recipients (a batch, or those left for the next vendor on failover) keeps each text with its number.
    /// </summary>
    public IReadOnlyDictionary<string, RecipientContent>? PerRecipient { get; init; }
    public string? SignName { get; init; }
    public string? Extend { get; init; }
    public string? IdempotencyKey { get; init; }
    public string? CallbackUrl { get; init; }
    /// <summary>Business type where the vendor asks for one (YANINGAI: MARKETING, VERIFY, NOTIFICATION).</summary>
    public SmsKind Kind { get; init; } = SmsKind.Notification;
}

public enum SmsKind { Notification, Verification, Marketing }

/// <summary>What one recipient of an <see cref="SmsMessage"/> gets instead of the message's own text or template parameters.</summary>
/// <param name="Text">Replaces <see cref="SmsMessage.Text"/> when set.</param>
/// <param name="TemplateParams">Replaces <see cref="SmsMessage.TemplateParams"/> when set (the template stays the message's).</param>
public sealed record RecipientContent(string? Text = null, IReadOnlyList<KeyValuePair<string, string>>? TemplateParams = null);

/// <summary>The vendor's answer for one recipient of a send.</summary>
/// <param name="Mobile">The recipient in E.164.</param>
public sealed record RecipientResult(
    string Mobile,
    bool Accepted,
    string? MessageId,
    string? VendorCode = null,
    string? Error = null,
    decimal? Fee = null)
{
    private readonly VendorFailureKind? _failure;

    /// <summary>True when the vendor could not be reached or failed transiently: another vendor may succeed.</summary>
    public bool Retryable { get; init; }

    /// <summary>
    /// Not accepted as far as the caller knows, but the vendor may have sent it (its answer was lost: see
    /// <see cref="VendorException.OutcomeUnknown"/>). Sending it again, through any vendor, could reach the person twice.
    /// </summary>
    public bool InDoubt { get; init; }

    /// <summary>
    /// Null when accepted. Otherwise how the send failed for this recipient: <see cref="VendorFailureKind.Rejected"/> (the
    /// vendor refused it), <see cref="VendorFailureKind.Transient"/> (nothing was sent) or
    /// <see cref="VendorFailureKind.UnknownOutcome"/> (the message may have gone out, as <see cref="InDoubt"/> says).
    /// </summary>
    public VendorFailureKind? Failure
    {
        get => Accepted ? null : _failure ?? (InDoubt ? VendorFailureKind.UnknownOutcome : VendorFailureKind.Rejected);
        init => _failure = value;
    }
}

/// <summary>What a send produced, one result per recipient in the order the caller gave them.</summary>
public sealed record SendReceipt(string Vendor, IReadOnlyList<RecipientResult> Results)
{
    public int AcceptedCount => Results.Count(r => r.Accepted);
    public int RejectedCount => Results.Count(r => !r.Accepted);
    public decimal TotalFee => Results.Sum(r => r.Fee ?? 0m);
    public string? BatchId { get; init; }
}

public enum DeliveryStatus { Delivered, Failed, Unknown }

/// <summary>A delivery report, pushed or pulled, normalized across vendors.</summary>
/// <param name="Mobile">E.164 where the vendor tells the number; otherwise null.</param>
public sealed record DeliveryReport(
    string Vendor,
    string MessageId,
    string? Mobile,
    DeliveryStatus Status,
    string? VendorCode,
    string? Description,
    DateTimeOffset ReportedAt)
{
    /// <summary>
    /// The caller's own reference the vendor echoes in its reports (Yunpian's <c>uid</c>: the send's
    /// <see cref="SmsMessage.IdempotencyKey"/>), where it has one: it ties a report to the send that asked for the message
    /// even when that send never learnt the message id.
    /// </summary>
    public string? ClientReference { get; init; }
}

/// <summary>An inbound SMS (a reply or an uplink), pushed or pulled.</summary>
/// <param name="Mobile">The sender in E.164.</param>
public sealed record InboundReply(
    string Vendor,
    string Mobile,
    string Text,
    string? Extend,
    DateTimeOffset ReceivedAt,
    string? VendorReplyId = null);

public enum EmailEventKind { Delivered, Failed, Opened, Clicked, Unsubscribed, Other }

/// <summary>An email report or tracking event.</summary>
public sealed record EmailEvent(
    string Vendor,
    string MessageId,
    string Email,
    EmailEventKind Kind,
    string? Detail,
    DateTimeOffset OccurredAt);

/// <summary>Voice OTP: the vendor reads <see cref="Code"/> out to <see cref="Recipient"/>.</summary>
public sealed record VoiceOtpRequest
{
    public required PhoneNumber Recipient { get; init; }
    public required string Code { get; init; }
    public string? TemplateId { get; init; }
    public string? IdempotencyKey { get; init; }
    public string? CallbackUrl { get; init; }
}

/// <summary>Voice notice: a templated or text message read out to each recipient.</summary>
public sealed record VoiceNoticeRequest
{
    public required IReadOnlyList<PhoneNumber> Recipients { get; init; }
    public string? Text { get; init; }
    public string? TemplateId { get; init; }
    public IReadOnlyList<KeyValuePair<string, string>> TemplateParams { get; init; } = [];
}

public sealed record EmailAttachment(string FileName, string ContentType, byte[] Content);

public sealed record EmailMessage
{
    public required IReadOnlyList<string> To { get; init; }
    public required string Subject { get; init; }
    /// <summary>The HTML body. Vendors that send only HTML require it; SMTP takes it, <see cref="TextContent"/>, or both.</summary>
    public string? HtmlContent { get; init; }
    /// <summary>The plain-text body (SMTP sends it as the text alternative of the HTML).</summary>
    public string? TextContent { get; init; }
    public string? SenderName { get; init; }
    public string? From { get; init; }
    /// <summary>Placeholder values per recipient address, where the vendor supports them.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Placeholders { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();
    public IReadOnlyList<EmailAttachment> Attachments { get; init; } = [];
}

public sealed record EmailReceipt(string Vendor, IReadOnlyList<EmailRecipientResult> Results);

/// <summary>The answer for one recipient of an email send.</summary>
public sealed record EmailRecipientResult(string Email, bool Accepted, string? MessageId, string? Error = null)
{
    private readonly VendorFailureKind? _failure;

    /// <summary>
    /// Not accepted as far as the caller knows, but the message may have gone out (SMTP: the connection was lost after
    /// the whole message was transmitted, before the server's answer). Sending it again could deliver it twice.
    /// </summary>
    public bool InDoubt { get; init; }

    /// <summary>Null when accepted; otherwise how the send failed for this recipient (see <see cref="RecipientResult.Failure"/>).</summary>
    public VendorFailureKind? Failure
    {
        get => Accepted ? null : _failure ?? (InDoubt ? VendorFailureKind.UnknownOutcome : VendorFailureKind.Rejected);
        init => _failure = value;
    }
}
