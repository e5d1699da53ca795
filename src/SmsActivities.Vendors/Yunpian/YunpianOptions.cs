using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Vendors.Yunpian;

/// <summary>Which Yunpian data centre to call when <see cref="VendorHttpOptions.BaseUrl"/> is not set.</summary>
public enum YunpianRegion
{
    /// <summary>sms.yunpian.com (mainland China).</summary>
    Domestic,
    /// <summary>us.yunpian.com, which Yunpian's international guide recommends for callers outside China.</summary>
    Us,
}

/// <summary>Configuration section <c>Vendors:Yunpian</c>: <c>ApiKey</c> (required), <c>Region</c>, <c>BaseUrl</c> and the retry settings.</summary>
public sealed class YunpianOptions : VendorHttpOptions
{
    public static readonly Uri DomesticHost = new("https://sms.yunpian.com/");
    public static readonly Uri UsHost = new("https://us.yunpian.com/");

    /// <summary>The 32-character account key from the Yunpian dashboard. Sent as the <c>apikey</c> form field and used to check reply pushes.</summary>
    [Required(ErrorMessage = "Vendors:Yunpian:ApiKey is required (the 32-character apikey from the Yunpian dashboard).")]
    public string? ApiKey { get; set; }

    /// <summary>Picks the public host when <see cref="VendorHttpOptions.BaseUrl"/> is left empty.</summary>
    public YunpianRegion Region { get; set; } = YunpianRegion.Domestic;

    internal void ApplyRegionDefault() => BaseUrl ??= Region == YunpianRegion.Us ? UsHost : DomesticHost;
}
