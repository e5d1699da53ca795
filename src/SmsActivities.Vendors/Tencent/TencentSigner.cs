using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SmsActivities.Vendors.Tencent;

/// <summary>
/// The v5 request credential: <c>sig = hex(sha256("appkey=…&amp;random=…&amp;time=…"))</c>, with
/// <c>"&amp;mobile=m1,m2,…"</c> appended only for <c>sendsms</c> and <c>sendmultisms2</c> (DESIGN §6).
/// </summary>
public static class TencentSigner
{
    public static string Sign(string appKey, string random, long time, IEnumerable<string>? mobiles = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(appKey);
        ArgumentException.ThrowIfNullOrEmpty(random);
        var text = string.Create(CultureInfo.InvariantCulture, $"appkey={appKey}&random={random}&time={time}");
        if (mobiles is not null) text += "&mobile=" + string.Join(',', mobiles);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>Constant-time comparison, for the emulator and anyone verifying a sig.</summary>
    public static bool Verify(string expectedSig, string? givenSig) =>
        givenSig is not null && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(expectedSig), Encoding.ASCII.GetBytes(givenSig.ToLowerInvariant()));
}
