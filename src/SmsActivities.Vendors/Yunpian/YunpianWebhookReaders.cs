using System.Text.Json;
using Microsoft.Extensions.Options;

namespace SmsActivities.Vendors.Yunpian;

/// <summary>
/// What both Yunpian pushes share: a form POST whose single field (<c>sms_status</c> or <c>sms_reply</c>)
/// holds URL-encoded JSON, some senders encoding it twice, acknowledged with exactly <c>SUCCESS</c>.
/// </summary>
public abstract class YunpianWebhookReader(TimeProvider? time, string? region) : IWebhookReader
{
    /// <summary>The region national numbers in pushes are read in (the account's <see cref="VendorHttpOptions.DefaultRegion"/>).</summary>
    protected string Region { get; } = region ?? PhoneNumber.FallbackRegion;

    /// <summary>Stands in for a record's time when it has none (or an unreadable one).</summary>
    protected DateTimeOffset Now => (time ?? TimeProvider.System).GetUtcNow();

    public static WebhookAcknowledgement Acknowledgement { get; } = WebhookAcknowledgement.Text("SUCCESS");

    public string Vendor => VendorNames.Yunpian;
    public abstract string Kind { get; }
    protected abstract string FieldName { get; }

    public WebhookReadResult Read(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!string.Equals(request.Method, "POST", StringComparison.OrdinalIgnoreCase))
            return WebhookReadResult.Rejected($"Yunpian pushes are POSTs, got {request.Method}");

        var field = System.Web.HttpUtility.ParseQueryString(request.BodyText)[FieldName];
        if (string.IsNullOrWhiteSpace(field))
            return WebhookReadResult.Rejected($"form field '{FieldName}' is missing or empty");

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(Unwrap(field));
        }
        catch (JsonException ex)
        {
            return WebhookReadResult.Rejected($"'{FieldName}' is not valid JSON: {ex.Message}");
        }

        using (document)
        {
            try
            {
                return ReadJson(document.RootElement);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
            {
                return WebhookReadResult.Rejected($"'{FieldName}' does not have Yunpian's shape: {ex.Message}");
            }
        }
    }

    protected abstract WebhookReadResult ReadJson(JsonElement root);

    protected static WebhookReadResult Accepted(IReadOnlyList<DeliveryReport>? reports = null, IReadOnlyList<InboundReply>? replies = null) =>
        new() { IsValid = true, Reports = reports ?? [], Replies = replies ?? [], Acknowledgement = Acknowledgement };

    // After form decoding the value should be JSON; when a sender encoded it twice it still reads "%5B…" or "%7B…".
    private static string Unwrap(string value)
    {
        for (var i = 0; i < 2; i++)
        {
            var trimmed = value.TrimStart();
            if (trimmed.StartsWith('[') || trimmed.StartsWith('{')) break;
            if (!trimmed.StartsWith('%')) break;
            value = System.Web.HttpUtility.UrlDecode(trimmed);
        }
        return value;
    }

    protected static string? Mobile(string? wire, string region) => YunpianFormat.TryFromWire(wire, out var number, region) ? number.E164 : null;
}

/// <summary>Reads <c>sms_status</c> pushes: a JSON array of status records.</summary>
public sealed class YunpianStatusReader(TimeProvider? time = null, IOptions<YunpianOptions>? options = null)
    : YunpianWebhookReader(time, options?.Value.DefaultRegion)
{
    public override string Kind => "status";
    protected override string FieldName => "sms_status";

    protected override WebhookReadResult ReadJson(JsonElement root)
    {
        // Single records have been seen unwrapped; accept both.
        var records = root.ValueKind == JsonValueKind.Object
            ? [root.Deserialize<YunpianStatusRecord>(YunpianFormat.Json)!]
            : root.Deserialize<YunpianStatusRecord[]>(YunpianFormat.Json) ?? [];
        if (records.Length == 0) return WebhookReadResult.Rejected("'sms_status' holds no records");

        var reports = new List<DeliveryReport>(records.Length);
        foreach (var record in records)
        {
            if (record is null) return WebhookReadResult.Rejected("a status record is null");
            if (record.Sid <= 0) return WebhookReadResult.Rejected("a status record has no sid");
            reports.Add(ToReport(record, Now, Region));
        }
        return Accepted(reports: reports);
    }

    /// <summary>Normalizes a pushed or pulled status record.</summary>
    /// <param name="fallbackTime">Used when the record carries no readable time.</param>
    /// <param name="region">The region the record's national number is read in.</param>
    public static DeliveryReport ToReport(YunpianStatusRecord record, DateTimeOffset fallbackTime, string region = PhoneNumber.FallbackRegion)
    {
        ArgumentNullException.ThrowIfNull(record);
        var status = record.ReportStatus?.ToUpperInvariant() switch
        {
            "SUCCESS" => DeliveryStatus.Delivered,
            "FAIL" => DeliveryStatus.Failed,
            _ => DeliveryStatus.Unknown,
        };
        var at = YunpianFormat.TryParseTime(record.UserReceiveTime, out var time) ? time : fallbackTime;
        var code = string.IsNullOrEmpty(record.ErrorMsg) ? record.ReportStatus : record.ErrorMsg;
        // error_detail is the reason a person can read; error_msg (the operator's code) stands in when it is absent.
        var description = !string.IsNullOrEmpty(record.ErrorDetail) ? record.ErrorDetail
            : string.IsNullOrEmpty(record.ErrorMsg) ? null : record.ErrorMsg;
        return new DeliveryReport(VendorNames.Yunpian, record.Sid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Mobile(record.Mobile, region), status, code, description, at)
        {
            ClientReference = string.IsNullOrEmpty(record.Uid) ? null : record.Uid,
        };
    }
}

/// <summary>Reads <c>sms_reply</c> pushes: one JSON object, signed with <c>_sign</c> (checked against the account apikey).</summary>
public sealed class YunpianReplyReader(IOptions<YunpianOptions> options, TimeProvider? time = null)
    : YunpianWebhookReader(time, options.Value.DefaultRegion)
{
    public override string Kind => "reply";
    protected override string FieldName => "sms_reply";

    protected override WebhookReadResult ReadJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) return WebhookReadResult.Rejected("'sms_reply' must be a JSON object");
        if (!YunpianReplySignature.Verify(root, options.Value.ApiKey!))
            return WebhookReadResult.Rejected("'_sign' is missing or does not match the account apikey", 401);

        var record = root.Deserialize<YunpianReplyRecord>(YunpianFormat.Json)!;
        if (record.Text is null) return WebhookReadResult.Rejected("the reply has no text");
        var reply = ToReply(record, Now, Region);
        return reply is null ? WebhookReadResult.Rejected("the reply's mobile is not a phone number") : Accepted(replies: [reply]);
    }

    /// <summary>Normalizes a pushed or pulled reply; null when the number is unreadable.</summary>
    public static InboundReply? ToReply(YunpianReplyRecord record, DateTimeOffset fallbackTime, string region = PhoneNumber.FallbackRegion)
    {
        ArgumentNullException.ThrowIfNull(record);
        var mobile = Mobile(record.Mobile, region);
        if (mobile is null) return null;
        var at = YunpianFormat.TryParseTime(record.ReplyTime, out var time) ? time : fallbackTime;
        return new InboundReply(VendorNames.Yunpian, mobile, record.Text ?? string.Empty,
            string.IsNullOrEmpty(record.Extend) ? null : record.Extend, at, record.Id);
    }
}
