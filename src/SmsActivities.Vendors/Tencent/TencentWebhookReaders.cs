using System.Text.Json;

namespace SmsActivities.Vendors.Tencent;

/// <summary>What Tencent expects back from both callbacks before it stops resending.</summary>
public static class TencentAcknowledgement
{
    public const string Body = """{"result":0,"errmsg":"OK"}""";

    public static WebhookAcknowledgement Ok { get; } = WebhookAcknowledgement.JsonBody(Body);
}

/// <summary>
/// Reads the delivery-status callback: a JSON array of status records (one push may carry many).
/// Tencent does not sign its callbacks, so the endpoint URL itself is the only secret.
/// </summary>
public sealed class TencentStatusCallbackReader(TimeProvider? timeProvider = null) : IWebhookReader
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public string Vendor => VendorNames.Tencent;
    public string Kind => "status";

    public WebhookReadResult Read(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!TryDeserialize<TencentStatusRecord[]>(request, "a JSON array of status records", out var records, out var error))
            return WebhookReadResult.Rejected(error);

        var now = _time.GetUtcNow();
        var reports = new List<DeliveryReport>(records.Length);
        foreach (var record in records)
        {
            if (record is null) return WebhookReadResult.Rejected("Tencent status callback: a status record is null");
            if (!TencentMapping.TryToReport(record, now, out var report, out error))
                return WebhookReadResult.Rejected($"Tencent status callback: {error}");
            reports.Add(report);
        }
        return new WebhookReadResult { IsValid = true, Reports = reports, Acknowledgement = TencentAcknowledgement.Ok };
    }

    internal static bool TryDeserialize<T>(WebhookRequest request, string expected, out T value, out string error) where T : class
    {
        value = null!;
        try
        {
            value = JsonSerializer.Deserialize<T>(request.Body, TencentJson.Options)!;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException)
        {
            // The parser's message quotes the payload; keep the reason generic.
        }
        error = value is null ? $"Tencent callback body is not {expected}" : string.Empty;
        return value is not null;
    }
}

/// <summary>Reads the reply callback: one JSON object per handset reply.</summary>
public sealed class TencentReplyCallbackReader : IWebhookReader
{
    public string Vendor => VendorNames.Tencent;
    public string Kind => "reply";

    public WebhookReadResult Read(WebhookRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        TencentReplyRecord record;
        string? error;
        // The doc lists POST, GET and JSON for this callback: a reply may also come as query parameters.
        if (request.Body.Length == 0 && request.Query.ContainsKey("mobile"))
        {
            if (!TryFromQuery(request.Query, out record, out error)) return WebhookReadResult.Rejected(error);
        }
        else if (!TencentStatusCallbackReader.TryDeserialize<TencentReplyRecord>(request, "a JSON reply object", out record, out error))
        {
            return WebhookReadResult.Rejected(error);
        }
        if (!TencentMapping.TryToReply(record, out var reply, out error))
            return WebhookReadResult.Rejected($"Tencent reply callback: {error}");
        return new WebhookReadResult { IsValid = true, Replies = [reply], Acknowledgement = TencentAcknowledgement.Ok };
    }

    private static bool TryFromQuery(IReadOnlyDictionary<string, string> query, out TencentReplyRecord record, out string error)
    {
        string? Get(string name) => query.TryGetValue(name, out var v) ? v : null;
        record = null!;
        long time = 0;
        if (Get("time") is { } t && !long.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out time))
        {
            error = "Tencent reply callback: time must be Unix seconds";
            return false;
        }
        record = new TencentReplyRecord
        {
            Nationcode = Get("nationcode"), Mobile = Get("mobile"), Text = Get("text"), Sign = Get("sign"), Time = time, Extend = Get("extend"),
        };
        error = string.Empty;
        return true;
    }
}
