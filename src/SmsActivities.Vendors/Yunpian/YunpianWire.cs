using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmsActivities.Vendors.Yunpian;

/// <summary><c>v2/user/get.json</c>: the account.</summary>
public sealed record YunpianUser(
    [property: JsonPropertyName("nick")] string? Nick,
    [property: JsonPropertyName("gmt_created")] string? GmtCreated,
    [property: JsonPropertyName("mobile")] string? Mobile,
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("ip_whitelist")] string? IpWhitelist,
    [property: JsonPropertyName("api_version")] string? ApiVersion,
    [property: JsonPropertyName("balance")] decimal Balance,
    [property: JsonPropertyName("alarm_balance")] decimal AlarmBalance,
    [property: JsonPropertyName("emergency_contact")] string? EmergencyContact,
    [property: JsonPropertyName("emergency_mobile")] string? EmergencyMobile);

/// <summary>Answer of <c>single_send</c> and <c>tpl_single_send</c>, and one entry of <c>batch_send</c>'s <c>data</c>.</summary>
/// <param name="Sid">64-bit message id.</param>
public sealed record YunpianSendResult(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("msg")] string? Msg,
    [property: JsonPropertyName("count")] int Count,
    [property: JsonPropertyName("fee")] decimal Fee,
    [property: JsonPropertyName("unit")] string? Unit,
    [property: JsonPropertyName("mobile"), JsonConverter(typeof(YunpianLenientStringConverter))] string? Mobile,
    [property: JsonPropertyName("sid")] long Sid);

/// <summary>Answer of <c>batch_send</c>, <c>multi_send</c> and <c>tpl_batch_send</c>: one <see cref="YunpianSendResult"/> per number, in the order sent.</summary>
public sealed record YunpianBatchResult(
    [property: JsonPropertyName("total_count")] int TotalCount,
    [property: JsonPropertyName("total_fee")] decimal TotalFee,
    [property: JsonPropertyName("unit")] string? Unit,
    [property: JsonPropertyName("data")] IReadOnlyList<YunpianSendResult> Data);

/// <summary>A status record, pulled (<c>pull_status</c>) or pushed (<c>sms_status</c>).</summary>
/// <param name="ReportStatus">SUCCESS, FAIL or UNKNOWN.</param>
/// <param name="UserReceiveTime">Beijing time, <c>yyyy-MM-dd HH:mm:ss</c>.</param>
public sealed record YunpianStatusRecord(
    [property: JsonPropertyName("sid")] long Sid,
    [property: JsonPropertyName("uid")] string? Uid,
    [property: JsonPropertyName("user_receive_time")] string? UserReceiveTime,
    [property: JsonPropertyName("error_msg")] string? ErrorMsg,
    [property: JsonPropertyName("mobile"), JsonConverter(typeof(YunpianLenientStringConverter))] string? Mobile,
    [property: JsonPropertyName("report_status")] string? ReportStatus)
{
    /// <summary>The human-readable reason of a failure (e.g. "用户不在服务区"), next to the operator code in <see cref="ErrorMsg"/>.</summary>
    [JsonPropertyName("error_detail")]
    public string? ErrorDetail { get; init; }
}

/// <summary>A reply record, pulled (<c>pull_reply</c>; no id) or pushed (<c>sms_reply</c>; with id and <c>_sign</c>).</summary>
public sealed record YunpianReplyRecord(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("mobile"), JsonConverter(typeof(YunpianLenientStringConverter))] string? Mobile,
    [property: JsonPropertyName("reply_time")] string? ReplyTime,
    [property: JsonPropertyName("text")] string? Text,
    [property: JsonPropertyName("extend")] string? Extend,
    [property: JsonPropertyName("base_extend")] string? BaseExtend);

/// <summary>The error body Yunpian sends with HTTP 400: <c>{"http_status_code":400,"code":1,"msg":…,"detail":…}</c>.</summary>
public sealed record YunpianError(
    [property: JsonPropertyName("http_status_code")] int HttpStatusCode,
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("msg")] string? Msg,
    [property: JsonPropertyName("detail")] string? Detail);

/// <summary><c>single_send</c> parameters besides the apikey. <paramref name="Mobile"/> in Yunpian's form (national for China, <c>+cc…</c> otherwise).</summary>
public sealed record YunpianSingleSend(string Mobile, string Text)
{
    public string? Extend { get; init; }
    /// <summary>The caller's own id for the message, echoed in status records.</summary>
    public string? Uid { get; init; }
    /// <summary>Per-message status push address, overriding the dashboard setting.</summary>
    public Uri? CallbackUrl { get; init; }
    /// <summary>Marks a registration verification code (counted in Yunpian's registration success statistics).</summary>
    public bool? Register { get; init; }
}

/// <summary><c>batch_send</c> parameters: the same text to at most 1000 numbers.</summary>
public sealed record YunpianBatchSend(IReadOnlyList<string> Mobiles, string Text)
{
    public string? Extend { get; init; }
    public string? Uid { get; init; }
    public Uri? CallbackUrl { get; init; }
}

/// <summary>
/// <c>multi_send</c>: a different text for each number, <see cref="Texts"/>[i] to <see cref="Mobiles"/>[i]. Numbers in
/// Yunpian's form; at most 1000.
/// </summary>
public sealed record YunpianMultiSend(IReadOnlyList<string> Mobiles, IReadOnlyList<string> Texts)
{
    public string? Extend { get; init; }
    public string? Uid { get; init; }
    public Uri? CallbackUrl { get; init; }
}

/// <summary>
/// <c>tpl_single_send</c> (one number) and <c>tpl_batch_send</c> (up to 1000): an approved template with its
/// <c>#name#</c> placeholders filled from <see cref="Values"/> (names without the '#').
/// </summary>
public sealed record YunpianTemplateSend(IReadOnlyList<string> Mobiles, long TemplateId, IReadOnlyList<KeyValuePair<string, string>> Values)
{
    public string? Extend { get; init; }
    public string? Uid { get; init; }
}

/// <summary>Yunpian's formats: numbers, Beijing timestamps, JSON settings.</summary>
public static class YunpianFormat
{
    public const int MaxTextLength = 500;
    public const int MaxBatchSize = 1000;
    public const int MaxPageSize = 100;

    private static readonly TimeSpan Beijing = TimeSpan.FromHours(8);

    /// <summary>
    /// <c>tpl_value</c>: each name (as <c>#name#</c>) and value URL-encoded on its own, joined as <c>#a#=1&amp;#b#=2</c>; the
    /// whole is form-encoded once more as a field of the request.
    /// </summary>
    public static string TemplateValue(IEnumerable<KeyValuePair<string, string>> values) =>
        string.Join('&', values.Select(v => $"{Uri.EscapeDataString($"#{v.Key}#")}={Uri.EscapeDataString(v.Value)}"));

    /// <summary>Reads a <c>tpl_value</c> back into names (without '#') and values; null when it is malformed.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>>? ParseTemplateValue(string tplValue)
    {
        var values = new List<KeyValuePair<string, string>>();
        foreach (var pair in tplValue.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0) return null;
            var name = Uri.UnescapeDataString(pair[..eq]);
            if (name.Length < 3 || name[0] != '#' || name[^1] != '#') return null;
            values.Add(new(name[1..^1], Uri.UnescapeDataString(pair[(eq + 1)..])));
        }
        return values;
    }

    /// <summary><c>multi_send</c>'s <c>text</c>: each text URL-encoded on its own (so commas inside survive), comma-joined.</summary>
    public static string MultiText(IEnumerable<string> texts) => string.Join(',', texts.Select(Uri.EscapeDataString));

    /// <summary>Splits a <c>multi_send</c> <c>text</c> back into the texts.</summary>
    public static IReadOnlyList<string> ParseMultiText(string text) => text.Split(',').Select(Uri.UnescapeDataString).ToArray();

    /// <summary>Mainland numbers go without country code, all others as <c>+cc…</c> (the international API's rule).</summary>
    public static string ToWire(PhoneNumber number) => number.IsChinaMainland ? number.NationalNumber : number.E164;

    /// <summary>Yunpian writes mainland numbers without a country code (read in <paramref name="region"/>, CN unless the account says otherwise); anything else carries "+".</summary>
    public static bool TryFromWire(string? mobile, out PhoneNumber number, string region = PhoneNumber.FallbackRegion) =>
        PhoneNumber.TryParse(mobile, out number, out _, region);

    public static string FormatTime(DateTimeOffset time) =>
        time.ToOffset(Beijing).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static bool TryParseTime(string? text, out DateTimeOffset time)
    {
        time = default;
        return DateTime.TryParseExact(text, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            && VendorClockTime.TryAt(local, Beijing, out time);
    }

    /// <summary>Yunpian's samples quote numbers inconsistently (<c>"fee"</c> sometimes a string, <c>mobile</c> sometimes a number).</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}

/// <summary>Reads a JSON string or number as a string (Yunpian's own samples send <c>mobile</c> both ways).</summary>
public sealed class YunpianLenientStringConverter : JsonConverter<string?>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.Null => null,
        _ => throw new JsonException($"expected a string or number, got {reader.TokenType}"),
    };

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null) writer.WriteNullValue(); else writer.WriteStringValue(value);
    }
}
