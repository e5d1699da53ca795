namespace SmsActivities.Vendors.Yaningai;

/// <summary>Business type YANINGAI asks for on every SMS (<c>action</c>).</summary>
public enum YaningaiAction { Marketing, Verify, Notification }

/// <summary>sendbatchsms accepts both; account, sign and datetime stay in the query either way.</summary>
public enum YaningaiSmsMethod { Get, Post }

/// <summary>One sendbatchsms call. Numbers are in YANINGAI's form (no country code, see <see cref="YaningaiCountryCodes.ToVendorNumber"/>), all for <see cref="CodeId"/>.</summary>
public sealed record YaningaiSmsRequest
{
    public required IReadOnlyList<string> Numbers { get; init; }
    public required string CodeId { get; init; }
    public required YaningaiAction Action { get; init; }
    /// <summary>Either content or a template.</summary>
    public string? Content { get; init; }
    public string? TemplateId { get; init; }
    public IReadOnlyList<string> TemplateParams { get; init; } = [];
    public string? SenderId { get; init; }
    public string? Routing { get; init; }
}

/// <summary>One mssSend call (MMS). Attachments: png, jpg, jpeg, bmp, gif, webp, psd, svg, tiff, mp3, wav, txt, vcf; at most 100 KB in total.</summary>
public sealed record YaningaiMmsRequest
{
    public required IReadOnlyList<string> Numbers { get; init; }
    public required string CodeId { get; init; }
    public required string Title { get; init; }
    public string? Content { get; init; }
    public string? TemplateId { get; init; }
    public IReadOnlyList<string> TemplateParams { get; init; } = [];
    public IReadOnlyList<EmailAttachment> Attachments { get; init; } = [];
    public string? SenderId { get; init; }
    public string? Routing { get; init; }
}

/// <summary>One vos/notice or vos/otp call (vos/otp takes exactly one number).</summary>
public sealed record YaningaiVoiceRequest
{
    public required IReadOnlyList<string> Numbers { get; init; }
    public required string CodeId { get; init; }
    public string? Content { get; init; }
    public string? TemplateId { get; init; }
    public IReadOnlyList<string> TemplateParams { get; init; } = [];
    public string? ShowPhone { get; init; }
    public string? Routing { get; init; }
}

/// <summary>A recipient of email/sendEmail, with its own placeholder values where the content has variables.</summary>
public sealed record YaningaiEmailRecipient(string To, IReadOnlyDictionary<string, string>? Placeholders = null);

/// <summary>One email/sendEmail call.</summary>
public sealed record YaningaiEmailRequest
{
    public required IReadOnlyList<YaningaiEmailRecipient> Recipients { get; init; }
    /// <summary>Sender name (<c>from</c>).</summary>
    public required string From { get; init; }
    /// <summary>Subject (<c>theme</c>); may hold placeholders.</summary>
    public required string Theme { get; init; }
    public required string Content { get; init; }
    /// <summary>Values shared by every recipient (<c>placeholders</c>, sent as a JSON string).</summary>
    public IReadOnlyDictionary<string, string>? Placeholders { get; init; }
    public int? TemplateId { get; init; }
    public IReadOnlyList<EmailAttachment> Attachments { get; init; } = [];
    public string? Routing { get; init; }
}

/// <summary>A number (or email address) the vendor accepted or refused, with the message id it gave.</summary>
public sealed record YaningaiSubmission(string Target, string? MessageId);

/// <summary>
/// YANINGAI's answer to a submit: <c>status</c> 0 (submitted) or 1 (sent), the counts, the batch number and
/// whatever per-target detail that endpoint returns (sendbatchsms <c>successData</c>/<c>failData</c>,
/// voice OTP / email / MMS <c>array</c>; vos/notice only counts).
/// </summary>
public sealed record YaningaiSubmitResult(
    int Status,
    string Message,
    int Success,
    int Fail,
    string? BatchNo,
    IReadOnlyList<YaningaiSubmission> Accepted,
    IReadOnlyList<YaningaiSubmission> Rejected)
{
    /// <summary>True when the answer names the targets (not just counts).</summary>
    public bool HasDetail => Accepted.Count + Rejected.Count > 0;
}

/// <summary>The documented status codes.</summary>
public static class YaningaiStatus
{
    public const int SubmitSuccess = 0;
    public const int SendSuccess = 1;
    public const int SendFailed = 2;
    public const int ChannelNotFound = 3;
    public const int CountryCodeError = 4;
    public const int Blacklisted = 5;
    public const int AuthenticationError = -1;
    public const int IpRestricted = -2;
    public const int SensitiveContent = -3;
    public const int ContentEmpty = -4;
    public const int ContentTooLong = -5;
    public const int NotTemplateOrUnregistered = -6;
    public const int TooManyNumbers = -7;
    public const int NumberEmpty = -8;
    public const int NumberAbnormal = -9;
    public const int InsufficientBalance = -10;
    public const int ScheduleFormat = -11;
    public const int PlatformError = -12;
    public const int UserLocked = -13;
    public const int QueryIdError = -14;
    public const int TooFast = -15;
    public const int TimeRangeExceeded = -16;
    public const int TemplateEmpty = -17;
    public const int CodeIdEmpty = -18;
    public const int CodeIdError = -19;

    // Email reuses some numbers with other meanings.
    public const int EmailMissingDomain = -3;
    public const int EmailSubjectEmpty = -4;
    public const int EmailContentEmpty = -5;
    public const int EmailRecipientEmpty = -9;

    public static bool IsSuccess(int status) => status is SubmitSuccess or SendSuccess;

    /// <summary>Only the platform's own batch error and its rate limit are worth trying again.</summary>
    public static bool IsTransient(int status) => status is PlatformError or TooFast;
}
