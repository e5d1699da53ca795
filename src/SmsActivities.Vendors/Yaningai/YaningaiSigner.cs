using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SmsActivities.Vendors.Yaningai;

/// <summary>
/// YANINGAI request authentication (docs/architecture.md, "Vendor notes"): <c>sign = lowercase hex md5(account + apiKey + datetime)</c>,
/// datetime = Unix seconds. The doc's printed example hash is wrong; the algorithm is what the service checks.
/// </summary>
public static class YaningaiSigner
{
    public static string Sign(string account, string apiKey, long unixSeconds)
    {
        ArgumentNullException.ThrowIfNull(account);
        ArgumentNullException.ThrowIfNull(apiKey);
        var input = Encoding.UTF8.GetBytes(account + apiKey + unixSeconds.ToString(CultureInfo.InvariantCulture));
#pragma warning disable CA5351 // MD5 is the vendor's fixed signature algorithm, not our choice of protection.
        return Convert.ToHexStringLower(MD5.HashData(input));
#pragma warning restore CA5351
    }

    /// <summary>Constant-time check, for the emulator and anyone verifying a sign.</summary>
    public static bool Verify(string account, string apiKey, long unixSeconds, string? sign) =>
        sign is not null && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(Sign(account, apiKey, unixSeconds)),
            Encoding.ASCII.GetBytes(sign));
}
