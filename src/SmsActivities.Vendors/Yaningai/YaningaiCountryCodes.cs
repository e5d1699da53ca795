using System.Globalization;

namespace SmsActivities.Vendors.Yaningai;

/// <summary>
/// Numbers go to YANINGAI without their country code, plus a <c>codeId</c> from the vendor's country table.
/// </summary>
public static class YaningaiCountryCodes
{
    /// <summary>
    /// Region → codeId. The only entry the published doc lets us derive: its voice OTP example sends <c>150xxxxxxxx</c>
    /// with <c>codeId 10001</c> and is answered for <c>8615039xxxxxx</c>, so 10001 is China mainland (CN). The doc points
    /// to a "country code parameter table" it does not contain; add the account's other entries through
    /// <see cref="YaningaiOptions.CodeIds"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Known { get; } =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["CN"] = "10001" };

    /// <summary>
    /// codeId → country code for every codeId the doc's examples use: 10001 (voice OTP, answered for 86…) and
    /// 10007 (SMS, MMS and voice notice examples, all with China mainland numbers such as 13611111111, whose
    /// report example reads 8613722222222). The emulator accepts these so the doc's example requests work verbatim.
    /// </summary>
    public static IReadOnlyDictionary<string, int> DocumentedCodeIds { get; } =
        new Dictionary<string, int>(StringComparer.Ordinal) { ["10001"] = 86, ["10007"] = 86 };

    /// <summary>
    /// The number as YANINGAI wants it: national digits, except that a national number which itself starts with
    /// the country code's digits must carry the code ("if number is same as country code, must carry country code").
    /// </summary>
    public static string ToVendorNumber(PhoneNumber number)
    {
        var code = number.CountryCode.ToString(CultureInfo.InvariantCulture);
        return number.NationalNumber.StartsWith(code, StringComparison.Ordinal) ? code + number.NationalNumber : number.NationalNumber;
    }

    /// <summary>Country code + national digits, no '+': how YANINGAI names a number in answers and pushes.</summary>
    public static string ToReportedNumber(PhoneNumber number) => number.E164[1..];

    /// <summary>E.164 from a number as YANINGAI reports it (digits with country code); null when masked or malformed.</summary>
    public static string? FromReportedNumber(string? digits) =>
        !string.IsNullOrEmpty(digits) && PhoneNumber.TryParse("+" + digits, out var number, out _) ? number.E164 : null;
}
