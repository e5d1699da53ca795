using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Vendors.Tencent;

/// <summary>A Tencent Cloud SMS v5 application (config section <c>Vendors:Tencent</c>).</summary>
public sealed class TencentOptions : VendorHttpOptions
{
    public const string DefaultHost = "https://yun.tim.qq.com/";

    public TencentOptions() => BaseUrl = new Uri(DefaultHost);

    /// <summary>The SDKAppID from the console; sent in the query of every call.</summary>
    [Required(ErrorMessage = "Vendors:Tencent:SdkAppId is required (the SDKAppID of the SMS application)")]
    public string? SdkAppId { get; set; }

    /// <summary>The App Key: only used to compute <c>sig</c>, never sent nor logged.</summary>
    [Required(ErrorMessage = "Vendors:Tencent:AppKey is required (the App Key of the SMS application)")]
    public string? AppKey { get; set; }

    /// <summary>Approved signature used when a message names none; empty means the account's default signature.</summary>
    public string? DefaultSign { get; set; }
}
