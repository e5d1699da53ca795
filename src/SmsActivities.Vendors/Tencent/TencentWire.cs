using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmsActivities.Vendors.Tencent;

// Wire types of the v5 API. Field names are snake_case on the wire (TencentJson.Options maps them).

/// <summary>A number as Tencent takes it: country code without '+' and the national number.</summary>
public sealed record TencentTel(string Nationcode, string Mobile)
{
    public static TencentTel From(PhoneNumber number) =>
        new(number.CountryCode.ToString(System.Globalization.CultureInfo.InvariantCulture), number.NationalNumber);

    /// <summary>The number in E.164, or null when the parts do not make a phone number.</summary>
    public string? ToE164() =>
        PhoneNumber.TryParse("+" + Nationcode + Mobile, out var number, out _) ? number.E164 : null;
}

/// <summary>
/// What a send carries: a template (<see cref="TemplateId"/> + positional <see cref="Params"/>) or a text
/// (<see cref="Text"/>, which Tencent matches against an approved template; <see cref="Type"/> 0 = normal, 1 = marketing).
/// </summary>
public sealed record TencentSmsContent
{
    public int? TemplateId { get; init; }
    public IReadOnlyList<string> Params { get; init; } = [];
    public string? Text { get; init; }
    public int Type { get; init; }
    public string? Sign { get; init; }
    public string? Extend { get; init; }
    public string? Ext { get; init; }

    public static TencentSmsContent Template(int templateId, params string[] parameters) =>
        new() { TemplateId = templateId, Params = parameters };

    public static TencentSmsContent PlainText(string text, bool marketing = false) =>
        new() { Text = text, Type = marketing ? 1 : 0 };
}

/// <summary>Fields every answer has. Send, pull and statistics calls put the error text in <c>errmsg</c>, template and signature calls in <c>msg</c>.</summary>
public record TencentResponse
{
    public int Result { get; init; }
    public string? Errmsg { get; init; }
    public string? Msg { get; init; }

    [JsonIgnore]
    public string ErrorText => Errmsg ?? Msg ?? string.Empty;
}

public sealed record TencentSendResult : TencentResponse
{
    public string? Ext { get; init; }
    public int? Fee { get; init; }
    public string? Sid { get; init; }
}

public sealed record TencentMultiSendResult : TencentResponse
{
    public string? Ext { get; init; }
    public IReadOnlyList<TencentSendDetail> Detail { get; init; } = [];
}

public sealed record TencentSendDetail
{
    public int Result { get; init; }
    public string? Errmsg { get; init; }
    public string Mobile { get; init; } = string.Empty;
    public string Nationcode { get; init; } = string.Empty;
    public string? Sid { get; init; }
    public int? Fee { get; init; }
}

/// <summary>One delivery status, as pushed (in a JSON array) and as pulled with type 0.</summary>
public sealed record TencentStatusRecord
{
    /// <summary>"yyyy-MM-dd HH:mm:ss", Beijing time.</summary>
    public string? UserReceiveTime { get; init; }
    public string? Nationcode { get; init; }
    public string? Mobile { get; init; }
    /// <summary>SUCCESS or FAIL.</summary>
    public string? ReportStatus { get; init; }
    /// <summary>The operator's status code, e.g. DELIVRD.</summary>
    public string? Errmsg { get; init; }
    public string? Description { get; init; }
    public string? Sid { get; init; }
}

/// <summary>One handset reply, as pushed (a JSON object) and as pulled with type 1.</summary>
public sealed record TencentReplyRecord
{
    public string? Nationcode { get; init; }
    public string? Mobile { get; init; }
    public string? Text { get; init; }
    public string? Sign { get; init; }
    /// <summary>Unix seconds.</summary>
    public long Time { get; init; }
    public string? Extend { get; init; }
}

public sealed record TencentPullResult<T> : TencentResponse
{
    public int Count { get; init; }
    public IReadOnlyList<T> Data { get; init; } = [];
}

public enum TencentTemplateType { Common = 0, Marketing = 1, Voice = 2 }

/// <summary>0 approved, 1 pending, 2 rejected (templates and signatures alike).</summary>
public enum TencentReviewStatus { Approved = 0, Pending = 1, Rejected = 2 }

public sealed record TencentTemplate
{
    public int Id { get; init; }
    public string? Text { get; init; }
    public TencentReviewStatus Status { get; init; }
    public string? Reply { get; init; }
    public TencentTemplateType Type { get; init; }
    /// <summary>1 for a template that serves numbers outside China mainland, 0 for a mainland one.</summary>
    public int International { get; init; }
}

public sealed record TencentSign
{
    public int Id { get; init; }
    public string? Text { get; init; }
    public TencentReviewStatus Status { get; init; }
    public string? Reply { get; init; }
}

public sealed record TencentTemplateResult : TencentResponse
{
    public TencentTemplate? Data { get; init; }
}

public sealed record TencentTemplateList : TencentResponse
{
    public int Total { get; init; }
    public int Count { get; init; }
    public IReadOnlyList<TencentTemplate> Data { get; init; } = [];
}

public sealed record TencentSignResult : TencentResponse
{
    public TencentSign? Data { get; init; }
}

public sealed record TencentSignList : TencentResponse
{
    public int Count { get; init; }
    public IReadOnlyList<TencentSign> Data { get; init; } = [];
}

public sealed record TencentSendStatistics
{
    public long Request { get; init; }
    public long Success { get; init; }
    public long BillNumber { get; init; }
}

public sealed record TencentCallbackStatistics
{
    public long Success { get; init; }
    public long Status { get; init; }
    public long StatusSuccess { get; init; }
    public long StatusFail { get; init; }
    /// <summary>Operator's internal error.</summary>
    [JsonPropertyName("status_fail_0")] public long StatusFailOperator { get; init; }
    /// <summary>Number invalid or not existing.</summary>
    [JsonPropertyName("status_fail_1")] public long StatusFailInvalidNumber { get; init; }
    /// <summary>Out of service or powered off.</summary>
    [JsonPropertyName("status_fail_2")] public long StatusFailPoweredOff { get; init; }
    [JsonPropertyName("status_fail_3")] public long StatusFailBlacklist { get; init; }
    /// <summary>Operator's delivery frequency limit.</summary>
    [JsonPropertyName("status_fail_4")] public long StatusFailFrequency { get; init; }
}

public sealed record TencentStatisticsResult<T> : TencentResponse where T : class
{
    public T? Data { get; init; }
}

/// <summary>Serializer settings for the v5 wire format, shared by client, readers and emulator.</summary>
public static class TencentJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        // Tencent's text fields are Chinese; keep them readable on the wire.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Beijing time, in which Tencent writes <c>user_receive_time</c> and statistics hours.</summary>
    public static readonly TimeSpan ChinaOffset = TimeSpan.FromHours(8);

    public const string ReceiveTimeFormat = "yyyy-MM-dd HH:mm:ss";
}
