using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace SmsActivities.Vendors.Tencent;

/// <summary>
/// The v5 request credential: <c>sig = hex(sha256("appkey=…&amp;random=…&amp;time=…"))</c>, followed by the number the
/// call sends to: <c>"&amp;mobile=m1,m2,…"</c> for <c>sendsms</c> and <c>sendmultisms2</c>, <c>"&amp;tel=+8613788888888"</c>
/// for <c>sendisms</c>. The other calls sign the three fields alone.
/// </summary>
public static class TencentSigner
{
    /// <summary>The sig of a call that covers no number, or the mobiles of <c>sendsms</c>/<c>sendmultisms2</c>, comma-joined.</summary>
    public static string Sign(string appKey, string random, long time, IEnumerable<string>? mobiles = null) =>
        Sign(appKey, random, time, mobiles is null ? null : TencentSigCover.Mobiles(mobiles));

    /// <summary>The sig of <c>sendisms</c>: the number in its universal "+…" form, as sent in <c>tel</c>.</summary>
    public static string SignInternational(string appKey, string random, long time, string tel) =>
        Sign(appKey, random, time, TencentSigCover.Tel(tel));

    public static string Sign(string appKey, string random, long time, TencentSigCover? cover)
    {
        ArgumentException.ThrowIfNullOrEmpty(appKey);
        ArgumentException.ThrowIfNullOrEmpty(random);
        var text = string.Create(CultureInfo.InvariantCulture, $"appkey={appKey}&random={random}&time={time}");
        if (cover is { } c) text += $"&{c.Field}={c.Value}";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    /// <summary>Constant-time comparison, for the emulator and anyone verifying a sig.</summary>
    public static bool Verify(string expectedSig, string? givenSig) =>
        givenSig is not null && CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(expectedSig), Encoding.ASCII.GetBytes(givenSig.ToLowerInvariant()));
}

/// <summary>The number a send call's sig ends with: <c>mobile=…</c> (national mobiles) or <c>tel=+…</c> (sendisms).</summary>
public readonly record struct TencentSigCover(string Field, string Value)
{
    public static TencentSigCover Mobiles(IEnumerable<string> mobiles) => new("mobile", string.Join(',', mobiles));

    public static TencentSigCover Tel(string tel) => new("tel", tel);
}
