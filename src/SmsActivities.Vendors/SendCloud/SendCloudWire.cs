using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmsActivities.Vendors.SendCloud;

/// <summary>Every SendCloud answer: <c>{"message","info","result","statusCode"}</c>; HTTP 200 even for errors.</summary>
public sealed record SendCloudResponse<TInfo>(
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("info")] TInfo? Info,
    [property: JsonPropertyName("result")] bool Result,
    [property: JsonPropertyName("statusCode")] int StatusCode);

/// <summary><c>info</c> of a send: <c>smsIds</c> end in <c>$phone</c>; <c>items</c> lists the numbers refused (status 311 / 312).</summary>
public sealed record SendCloudSendInfo(
    [property: JsonPropertyName("successCount")] int SuccessCount,
    [property: JsonPropertyName("failedCount")] int FailedCount,
    [property: JsonPropertyName("items")] IReadOnlyList<SendCloudFailedItem>? Items,
    [property: JsonPropertyName("smsIds")] IReadOnlyList<string>? SmsIds)
{
    /// <summary>The phone an smsId was issued for (the part after the last <c>$</c>).</summary>
    public static string? PhoneOf(string smsId)
    {
        ArgumentNullException.ThrowIfNull(smsId);
        var dollar = smsId.LastIndexOf('$');
        return dollar < 0 ? null : smsId[(dollar + 1)..];
    }
}

public sealed record SendCloudFailedItem(
    [property: JsonPropertyName("phone")] string? Phone,
    [property: JsonPropertyName("vars")] JsonElement? Vars,
    [property: JsonPropertyName("message")] string? Message);

public sealed record SendCloudTimestampInfo([property: JsonPropertyName("timestamp")] long Timestamp);

/// <summary><c>smsapi/send</c>: a template to at most 2000 numbers. Phones in SendCloud's form (see <see cref="SendCloudFormat.ToWire"/>).</summary>
public sealed record SendCloudTemplateSend(int TemplateId, IReadOnlyList<string> Phones)
{
    /// <summary>Template variables, e.g. <c>{"name":"lucy"}</c> or <c>{"%money%":"100"}</c>; values ≤ 32 characters, no links.</summary>
    public IReadOnlyDictionary<string, string> Vars { get; init; } = new Dictionary<string, string>();
    /// <summary>0 SMS, 1 MMS, 2 international SMS.</summary>
    public int MsgType { get; init; }
    /// <summary>An SMS label (<c>smsapi/label</c>) the send is counted under in SendCloud's statistics.</summary>
    public int? LabelId { get; init; }
    /// <summary>Requests repeating one within an hour are not processed again (answer 400).</summary>
    public string? SendRequestId { get; init; }
    /// <summary>JSON object, at most 128 characters, echoed in SMSHook pushes.</summary>
    public string? Tag { get; init; }
}

/// <summary><c>smsapi/sendVoice</c>: a 4–6 digit code read out to one number.</summary>
public sealed record SendCloudVoiceSend(string Phone, string Code)
{
    public string? SendRequestId { get; init; }
    public string? Tag { get; init; }
}

/// <summary><c>smsapi/sendCode</c>: a verification code SMS without a template, under a signature given by id or name.</summary>
public sealed record SendCloudCodeSend(string Phone, string Code)
{
    /// <summary>0 SMS, 2 international SMS.</summary>
    public int MsgType { get; init; }
    /// <summary>Wins over <see cref="SignName"/> when both are given.</summary>
    public int? SignId { get; init; }
    public string? SignName { get; init; }
    public string? SendRequestId { get; init; }
    public string? Tag { get; init; }
}

public static class SendCloudFormat
{
    public const int MaxRecipients = 2000;
    public const int MaxVarLength = 32;
    public const int MaxSendRequestIdLength = 128;
    public const int MaxTagLength = 128;
    /// <summary>SMSHook status 460: content may not exceed 500 characters.</summary>
    public const int MaxTextLength = 500;
    public const int MsgTypeSms = 0;
    public const int MsgTypeMms = 1;
    public const int MsgTypeInternational = 2;

    /// <summary>Mainland numbers bare (11 digits), others E.164 with "+".</summary>
    public static string ToWire(PhoneNumber number) => number.IsChinaMainland ? number.NationalNumber : number.E164;

    /// <summary>A verification code: 4 to 6 digits.</summary>
    public static bool IsValidCode(string? code) => code is { Length: >= 4 and <= 6 } && code.All(char.IsAsciiDigit);

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
}
