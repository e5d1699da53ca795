using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Vendors.SendCloud;

/// <summary>Hash used for the request <c>signature</c>. SendCloud's current SDKs use SHA-256, its older ones MD5.</summary>
public enum SendCloudSignatureAlgorithm { Sha256, Md5 }

/// <summary>Configuration section <c>Vendors:SendCloud</c>: <c>SmsUser</c> and <c>SmsKey</c> (required), <c>AppKey</c>, <c>SignatureAlgorithm</c>, <c>BaseUrl</c> and the retry settings.</summary>
public sealed class SendCloudOptions : VendorHttpOptions
{
    public SendCloudOptions() => BaseUrl = new Uri("https://api.sendcloud.net/");

    [Required(ErrorMessage = "Vendors:SendCloud:SmsUser is required (the SMS_USER from the SendCloud console).")]
    public string? SmsUser { get; set; }

    /// <summary>Signs requests; never sent itself.</summary>
    [Required(ErrorMessage = "Vendors:SendCloud:SmsKey is required (the SMS_KEY from the SendCloud console).")]
    public string? SmsKey { get; set; }

    /// <summary>The APP KEY of the SMSHook settings, which signs the pushes. When empty, <see cref="SmsKey"/> is used.</summary>
    public string? AppKey { get; set; }

    public SendCloudSignatureAlgorithm SignatureAlgorithm { get; set; } = SendCloudSignatureAlgorithm.Sha256;

    /// <summary>Send <c>timestamp</c> with each call so a captured request cannot be replayed (SendCloud allows 6 s of skew).</summary>
    public bool IncludeTimestamp { get; set; } = true;

    /// <summary>SMS label (<c>labelId</c>) every template send is counted under in SendCloud's statistics; none when unset.</summary>
    [Range(1, int.MaxValue)]
    public int? LabelId { get; set; }

    /// <summary>
    /// How far an SMSHook push's <c>timestamp</c> (Unix milliseconds) may lie from this server's clock, either way,
    /// before the push is refused. The push signature covers only timestamp + token, never the body, so without a window
    /// a signature captured once would authorise any body forever; within it, each token is accepted for one body only.
    /// Ten minutes covers clock skew and SendCloud's own retries of a push that was not answered at once, while keeping
    /// the number of remembered tokens small.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:30", "1.00:00:00", ErrorMessage = "Vendors:SendCloud:HookFreshness must be between 30 seconds and one day.")]
    public TimeSpan HookFreshness { get; set; } = TimeSpan.FromMinutes(10);

    internal string HookKey => string.IsNullOrEmpty(AppKey) ? SmsKey! : AppKey;
}
