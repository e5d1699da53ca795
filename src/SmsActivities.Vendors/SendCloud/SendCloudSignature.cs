using System.Security.Cryptography;
using System.Text;

namespace SmsActivities.Vendors.SendCloud;

/// <summary>
/// SendCloud's two signatures. Requests: <c>hex(hash(smsKey + "&amp;" + k1=v1&amp;k2=v2… + "&amp;" + smsKey))</c> over every
/// parameter but <c>signature</c>, keys sorted, values raw (not URL-encoded). SMSHook pushes:
/// <c>hex(hmac_sha256(key = app key, message = timestamp + token))</c>.
/// </summary>
public static class SendCloudSignature
{
    public const string FieldName = "signature";

    public static string SignRequest(IEnumerable<KeyValuePair<string, string>> parameters, string smsKey, SendCloudSignatureAlgorithm algorithm)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentException.ThrowIfNullOrEmpty(smsKey);
        var query = string.Join('&', parameters
            .Where(p => p.Key != FieldName)
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));
        var bytes = Encoding.UTF8.GetBytes(smsKey + "&" + query + "&" + smsKey);
#pragma warning disable CA5351 // MD5 only where the account is set up for SendCloud's older scheme.
        var hash = algorithm == SendCloudSignatureAlgorithm.Md5 ? MD5.HashData(bytes) : SHA256.HashData(bytes);
#pragma warning restore CA5351
        return Convert.ToHexStringLower(hash);
    }

    public static string SignHook(string appKey, string timestamp, string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(appKey);
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(appKey), Encoding.UTF8.GetBytes(timestamp + token)));
    }

    /// <summary>Constant-time, case-insensitive comparison of two hex digests.</summary>
    public static bool HexEquals(string expected, string? actual) =>
        actual is not null && actual.Length == expected.Length
        && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(actual.ToLowerInvariant()));
}
