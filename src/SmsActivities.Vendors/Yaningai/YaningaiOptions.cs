using System.ComponentModel.DataAnnotations;

namespace SmsActivities.Vendors.Yaningai;

/// <summary>A YANINGAI account. Bound from <c>Vendors:Yaningai</c>.</summary>
public sealed class YaningaiOptions : VendorHttpOptions
{
    /// <summary>The vendor's documented host. Its doc only shows plain http; the api key itself never travels, only a time-bound sign.</summary>
    public static readonly Uri DefaultBaseUrl = new("http://api.yaningai.com/");

    public YaningaiOptions() => BaseUrl = DefaultBaseUrl;

    /// <summary>Login account (e.g. <c>yn00001</c>); sent in every query string.</summary>
    [Required(ErrorMessage = "Vendors:Yaningai:Account is required (the YANINGAI login account).")]
    public string? Account { get; set; }

    /// <summary>API key: only ever used to compute the sign, never sent or logged.</summary>
    [Required(ErrorMessage = "Vendors:Yaningai:ApiKey is required (the YANINGAI API key).")]
    public string? ApiKey { get; set; }

    /// <summary>
    /// Region (e.g. "CN", "ID") → YANINGAI <c>codeId</c>. Starts with <see cref="YaningaiCountryCodes.Known"/>;
    /// configuration adds or overrides entries (<c>Vendors:Yaningai:CodeIds:ID = …</c>) from the account's country table.
    /// A key that is a country calling code ("62") covers every region sharing that code.
    /// </summary>
    public Dictionary<string, string> CodeIds { get; } = new(YaningaiCountryCodes.Known, StringComparer.Ordinal);

    /// <summary>
    /// Longest SMS/MMS/voice content sent. The doc has a "content too long" status (-5) but names no length, so
    /// this is a conservative default (ten concatenated UCS-2 parts) that an account can raise.
    /// </summary>
    [Range(1, 10000)]
    public int MaxTextLength { get; set; } = 670;

    /// <summary>Optional sender ID agreed with YANINGAI support (SMS and MMS <c>senderId</c>).</summary>
    public string? SenderId { get; set; }

    /// <summary>Optional caller number shown for voice calls (<c>showPhone</c>).</summary>
    public string? ShowPhone { get; set; }

    /// <summary>Optional channel agreed with YANINGAI support (<c>routing</c>).</summary>
    public string? Routing { get; set; }

    /// <summary>Default email sender name (<c>from</c>) when a message names none.</summary>
    public string? EmailFrom { get; set; }
}
