using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SmsActivities.Vendors.Yunpian;

/// <summary>
/// The <c>_sign</c> Yunpian adds to reply pushes (a fact its English doc leaves out):
/// lowercase hex md5 of the values of every other field, keys sorted ordinally, joined by ",", then "," + apikey.
/// A missing or null value counts as the empty string.
/// </summary>
public static class YunpianReplySignature
{
    public const string FieldName = "_sign";

    public static string Compute(IEnumerable<KeyValuePair<string, string?>> fields, string apiKey)
    {
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentException.ThrowIfNullOrEmpty(apiKey);
        var values = fields
            .Where(f => f.Key != FieldName)
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => f.Value ?? string.Empty);
        var text = string.Join(',', values) + "," + apiKey;
#pragma warning disable CA5351 // MD5 is Yunpian's choice, not ours.
        return Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5351
    }

    /// <summary>The fields of a reply JSON object as text, the way the signature sees them.</summary>
    public static IReadOnlyList<KeyValuePair<string, string?>> FieldsOf(JsonElement reply) =>
        reply.EnumerateObject().Select(p => new KeyValuePair<string, string?>(p.Name, p.Value.ValueKind switch
        {
            JsonValueKind.String => p.Value.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined => null,
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => p.Value.GetRawText(),
        })).ToArray();

    /// <summary>Constant-time check of the pushed <c>_sign</c> against the expected one.</summary>
    public static bool Verify(JsonElement reply, string apiKey)
    {
        if (!reply.TryGetProperty(FieldName, out var sign) || sign.ValueKind != JsonValueKind.String) return false;
        var expected = Compute(FieldsOf(reply), apiKey);
        var actual = sign.GetString()!.ToLower(CultureInfo.InvariantCulture);
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(actual));
    }
}
