using System.Globalization;
using System.Text.Json;

namespace SmsActivities.Vendors.Yaningai;

// YANINGAI pushes JSON by POST to addresses configured in its console and stops once it gets HTTP 200.
// Its doc defines no signature for pushes, so these readers check shape only: protect the endpoint by an
// unguessable path or the vendor's source addresses.

/// <summary>SMS (and MMS) status report push: <c>{"type":"sms","cnt":n,"array":[[id, number, sendTime, status, desc, batchNo, count, fee], …]}</c>.</summary>
public sealed class YaningaiSmsReportReader : IWebhookReader
{
    public string Vendor => VendorNames.Yaningai;
    public string Kind => "status";

    // "report" is the documented default type; the example shows "sms". MMS reports have no example and are accepted here too.
    public WebhookReadResult Read(WebhookRequest request) =>
        YaningaiReportRows.Read(request, ["sms", "mms", "report"], "an SMS report", rows => new WebhookReadResult
        {
            IsValid = true,
            Reports = rows.Select(r => r.ToDeliveryReport()).ToArray(),
        });
}

/// <summary>Voice status report push: <c>{"type":"vos","cnt":n,"array":[[id, number, time, status, desc, batchNo], …]}</c>.</summary>
public sealed class YaningaiVoiceReportReader : IWebhookReader
{
    public string Vendor => VendorNames.Yaningai;
    public string Kind => "voice-status";

    public WebhookReadResult Read(WebhookRequest request) =>
        YaningaiReportRows.Read(request, ["vos", "report"], "a voice report", rows => new WebhookReadResult
        {
            IsValid = true,
            Reports = rows.Select(r => r.ToDeliveryReport()).ToArray(),
        });
}

/// <summary>Email status report push: <c>{"type":"mail","cnt":n,"array":[[id, email, time, status, desc, batchNo], …]}</c>.</summary>
public sealed class YaningaiEmailReportReader : IWebhookReader
{
    public string Vendor => VendorNames.Yaningai;
    public string Kind => "email-status";

    public WebhookReadResult Read(WebhookRequest request) =>
        YaningaiReportRows.Read(request, ["mail", "report"], "an email report", rows => new WebhookReadResult
        {
            IsValid = true,
            EmailEvents = rows.Select(r => new EmailEvent(
                VendorNames.Yaningai,
                r.MessageId,
                r.Target,
                r.Status switch
                {
                    YaningaiStatus.SendSuccess => EmailEventKind.Delivered,
                    YaningaiStatus.SubmitSuccess => EmailEventKind.Other,
                    _ => EmailEventKind.Failed,
                },
                $"[{r.Status.ToString(CultureInfo.InvariantCulture)}] {r.Description}",
                r.Time)).ToArray(),
        });
}

/// <summary>
/// Email tracking push (opens, clicks): <c>{"type":"MailUserEvent","cnt":n,"array":[{"mssId", "receive_email", "time",
/// "action_type", "taskName", "domain", "country_name", "city", "device_type", "device_name"}, …]}</c>.
/// </summary>
public sealed class YaningaiEmailTrackingReader : IWebhookReader
{
    public string Vendor => VendorNames.Yaningai;
    public string Kind => "email-tracking";

    public WebhookReadResult Read(WebhookRequest request) => YaningaiJson.ReadObject(request, root =>
        {
            if (YaningaiJson.String(root, "type") != "MailUserEvent") return WebhookReadResult.Rejected("type must be 'MailUserEvent' for an email tracking push");
            if (!YaningaiJson.TryItems(root, out var items, out var error)) return WebhookReadResult.Rejected(error);

            var events = new List<EmailEvent>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                if (item.ValueKind != JsonValueKind.Object) return WebhookReadResult.Rejected($"array[{i}] must be an object");
                var id = YaningaiJson.String(item, "mssId");
                var email = YaningaiJson.String(item, "receive_email");
                var action = YaningaiJson.String(item, "action_type");
                if (string.IsNullOrEmpty(id)) return WebhookReadResult.Rejected($"array[{i}].mssId is required");
                if (string.IsNullOrEmpty(email)) return WebhookReadResult.Rejected($"array[{i}].receive_email is required");
                if (string.IsNullOrEmpty(action)) return WebhookReadResult.Rejected($"array[{i}].action_type is required");
                if (!item.TryGetProperty("time", out var timeElement) || !YaningaiJson.TryUnixSeconds(timeElement, out var at))
                    return WebhookReadResult.Rejected($"array[{i}].time must be Unix seconds");

                var kind = action.ToUpperInvariant() switch
                {
                    "OPENED" or "OPEN" => EmailEventKind.Opened,
                    "CLICKED" or "CLICK" => EmailEventKind.Clicked,
                    "UNSUBSCRIBED" or "UNSUBSCRIBE" => EmailEventKind.Unsubscribed,
                    _ => EmailEventKind.Other,
                };
                var place = string.Join(", ", new[] { YaningaiJson.String(item, "city"), YaningaiJson.String(item, "country_name") }.Where(s => !string.IsNullOrEmpty(s)));
                var device = string.Join(" ", new[] { YaningaiJson.String(item, "device_type"), YaningaiJson.String(item, "device_name") }.Where(s => !string.IsNullOrEmpty(s)));
                var detail = action + (place.Length > 0 ? $" in {place}" : string.Empty) + (device.Length > 0 ? $" on {device}" : string.Empty);
                events.Add(new EmailEvent(VendorNames.Yaningai, id, email, kind, detail, at));
            }
            return new WebhookReadResult { IsValid = true, EmailEvents = events };
        });
}

/// <summary>
/// Uplink (handset reply) push: <c>{"fromNum":"614899xxxxx","to":"614040xxxxx","content":"I want it","datetime":"1680278400"}</c>.
/// The doc names <c>to</c> the terminal user's number, so that is the replying mobile; <c>fromNum</c>, the platform
/// number the user answered, becomes <see cref="InboundReply.Extend"/>.
/// </summary>
public sealed class YaningaiUplinkReader : IWebhookReader
{
    public string Vendor => VendorNames.Yaningai;
    public string Kind => "reply";

    public WebhookReadResult Read(WebhookRequest request) => YaningaiJson.ReadObject(request, root =>
        {
            var mobile = YaningaiCountryCodes.FromReportedNumber(YaningaiJson.String(root, "to"));
            if (mobile is null) return WebhookReadResult.Rejected("'to' must be the replying number with its country code");
            if (!root.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                return WebhookReadResult.Rejected("'content' must be a string");
            if (!root.TryGetProperty("datetime", out var datetime) || !YaningaiJson.TryUnixSeconds(datetime, out var at))
                return WebhookReadResult.Rejected("'datetime' must be Unix seconds");
            var from = YaningaiJson.String(root, "fromNum");
            return new WebhookReadResult
            {
                IsValid = true,
                Replies = [new InboundReply(VendorNames.Yaningai, mobile, content.GetString()!, string.IsNullOrEmpty(from) ? null : from, at)],
            };
        });
}

/// <summary>One row of a report array.</summary>
internal sealed record YaningaiReportRow(string MessageId, string Target, DateTimeOffset Time, int Status, string Description)
{
    public DeliveryReport ToDeliveryReport() => new(
        VendorNames.Yaningai,
        MessageId,
        YaningaiCountryCodes.FromReportedNumber(Target),
        Status switch
        {
            YaningaiStatus.SendSuccess => DeliveryStatus.Delivered,
            // 0 is "sending": no final outcome yet.
            YaningaiStatus.SubmitSuccess => DeliveryStatus.Unknown,
            _ => DeliveryStatus.Failed,
        },
        Status.ToString(CultureInfo.InvariantCulture),
        Description,
        Time);
}

/// <summary>The array-of-rows report format shared by SMS, voice and email reports.</summary>
internal static class YaningaiReportRows
{
    public static WebhookReadResult Read(WebhookRequest request, string[] types, string what, Func<IReadOnlyList<YaningaiReportRow>, WebhookReadResult> build) =>
        YaningaiJson.ReadObject(request, root =>
        {
            var type = YaningaiJson.String(root, "type");
            if (type is null || !types.Contains(type, StringComparer.Ordinal))
                return WebhookReadResult.Rejected($"type must be one of {string.Join(", ", types)} for {what}");
            if (!YaningaiJson.TryItems(root, out var items, out var error)) return WebhookReadResult.Rejected(error);

            var rows = new List<YaningaiReportRow>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                if (item.ValueKind != JsonValueKind.Array || item.GetArrayLength() < 5)
                    return WebhookReadResult.Rejected($"array[{i}] must be a row of at least 5 values (id, target, time, status, description)");
                var id = item[0].ValueKind == JsonValueKind.String ? item[0].GetString() : null;
                var target = item[1].ValueKind == JsonValueKind.String ? item[1].GetString() : null;
                if (string.IsNullOrEmpty(id)) return WebhookReadResult.Rejected($"array[{i}][0] (message id) must be a non-empty string");
                if (string.IsNullOrEmpty(target)) return WebhookReadResult.Rejected($"array[{i}][1] (number or address) must be a non-empty string");
                if (item[2].ValueKind != JsonValueKind.String
                    || !DateTimeOffset.TryParse(item[2].GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
                    return WebhookReadResult.Rejected($"array[{i}][2] must be a time like 2023-04-11T16:50:01+08:00");
                if (!YaningaiAnswer.TryIntValue(item[3], out var status)) return WebhookReadResult.Rejected($"array[{i}][3] (status) must be an integer");
                var description = item[4].ValueKind == JsonValueKind.String ? item[4].GetString()! : item[4].GetRawText();
                rows.Add(new YaningaiReportRow(id, target, time, status, description));
            }
            return build(rows);
        });
}

internal static class YaningaiJson
{
    /// <summary>
    /// Parses a push as one JSON object and hands its root to <paramref name="read"/>. The parser checks structure
    /// only: invalid UTF-8 inside a string, or an escaped lone surrogate, throws only when the string is read, so
    /// both are refused here, before and during the read, instead of escaping as a server error.
    /// </summary>
    public static WebhookReadResult ReadObject(WebhookRequest request, Func<JsonElement, WebhookReadResult> read)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!string.Equals(request.Method, "POST", StringComparison.OrdinalIgnoreCase))
            return WebhookReadResult.Rejected("YANINGAI pushes by POST");
        if (!System.Text.Unicode.Utf8.IsValid(request.Body))
            return WebhookReadResult.Rejected("the body is not valid UTF-8");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(request.Body);
        }
        catch (JsonException)
        {
            return WebhookReadResult.Rejected("the body is not JSON");
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object) return WebhookReadResult.Rejected("the body must be a JSON object");
            try
            {
                return read(document.RootElement);
            }
            catch (InvalidOperationException)
            {
                // Thrown by JsonElement.GetString for a string that is not valid Unicode (the message quotes no payload).
                return WebhookReadResult.Rejected("a string in the body is not valid Unicode");
            }
        }
    }

    /// <summary>The <c>array</c> of a report push, checked against <c>cnt</c> and the documented 50-per-push limit.</summary>
    public static bool TryItems(JsonElement root, out IReadOnlyList<JsonElement> items, out string error)
    {
        items = [];
        if (!root.TryGetProperty("array", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            error = "'array' must be a JSON array";
            return false;
        }
        var list = array.EnumerateArray().ToArray();
        if (root.TryGetProperty("cnt", out var cnt) && (!YaningaiAnswer.TryIntValue(cnt, out var count) || count != list.Length))
        {
            error = $"'cnt' must equal the {list.Length} entries of 'array'";
            return false;
        }
        items = list;
        error = string.Empty;
        return true;
    }

    public static string? String(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static bool TryUnixSeconds(JsonElement element, out DateTimeOffset at)
    {
        at = default;
        long seconds = 0;
        var ok = element.ValueKind == JsonValueKind.Number
            ? element.TryGetInt64(out seconds)
            : element.ValueKind == JsonValueKind.String
              && long.TryParse(element.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out seconds);
        if (!ok || seconds < 0 || seconds > 253402300799) return false;
        at = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }
}
