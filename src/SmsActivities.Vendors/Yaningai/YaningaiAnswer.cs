using System.Globalization;
using System.Text.Json;

namespace SmsActivities.Vendors.Yaningai;

/// <summary>Reads YANINGAI's JSON answers, whose shape differs per endpoint (and whose errors use <c>msg</c>, not <c>message</c>).</summary>
internal static class YaningaiAnswer
{
    public static YaningaiSubmitResult Parse(string body, IReadOnlyList<string> targets, int httpStatus)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw new VendorException(VendorNames.Yaningai, null, "YANINGAI answered with something that is not JSON", VendorFailureKind.UnknownOutcome, httpStatus);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !TryInt(root, "status", out var status))
                throw new VendorException(VendorNames.Yaningai, null, "YANINGAI answered without a status", VendorFailureKind.UnknownOutcome, httpStatus);
            var message = Text(root, "message") ?? Text(root, "msg") ?? string.Empty;
            if (!YaningaiStatus.IsSuccess(status))
                throw new VendorException(VendorNames.Yaningai, status.ToString(CultureInfo.InvariantCulture),
                    message.Length > 0 ? message : "(no message)", YaningaiStatus.IsTransient(status), httpStatus);

            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object)
                return new YaningaiSubmitResult(status, message, 0, 0, null, [], []);

            var accepted = new List<YaningaiSubmission>();
            var rejected = new List<YaningaiSubmission>();
            ReadObjects(data, "successData", accepted);
            ReadObjects(data, "failData", rejected);
            ReadRows(data, new HashSet<string>(targets, StringComparer.OrdinalIgnoreCase), accepted, rejected);
            return new YaningaiSubmitResult(
                status,
                message,
                TryInt(data, "success", out var success) ? success : accepted.Count,
                TryInt(data, "fail", out var fail) ? fail : rejected.Count,
                // vos/notice spells it "barchNo".
                Text(data, "batchNo") ?? Text(data, "barchNo"),
                accepted,
                rejected);
        }
    }

    // sendbatchsms: [{"phone": "...", "messageId": "..."}]
    private static void ReadObjects(JsonElement data, string name, List<YaningaiSubmission> into)
    {
        if (!data.TryGetProperty(name, out var list) || list.ValueKind != JsonValueKind.Array) return;
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object) continue;
            var phone = Text(item, "phone");
            if (phone is not null) into.Add(new YaningaiSubmission(phone, Text(item, "messageId")));
        }
    }

    // vos/otp and email: [["8615039xxxxxx", "<id>"]]; the described row form is [id, target, time, status, …].
    // The order is told apart by which element names a target of this call, or else by which one has the shape of a message id.
    private static void ReadRows(JsonElement data, HashSet<string> targets, List<YaningaiSubmission> accepted, List<YaningaiSubmission> rejected)
    {
        if (!data.TryGetProperty("array", out var rows) || rows.ValueKind != JsonValueKind.Array) return;
        foreach (var row in rows.EnumerateArray())
        {
            if (row.ValueKind != JsonValueKind.Array || row.GetArrayLength() < 2) continue;
            var first = Scalar(row[0]);
            var second = Scalar(row[1]);
            if (first is null || second is null) continue;
            var targetFirst = (NamesTarget(first, targets) && !NamesTarget(second, targets))
                || (!NamesTarget(second, targets) && IsMessageId(second) && !IsMessageId(first));
            var submission = targetFirst ? new YaningaiSubmission(first, second) : new YaningaiSubmission(second, first);
            var rowFailed = !targetFirst && row.GetArrayLength() > 3 && TryIntValue(row[3], out var rowStatus) && !YaningaiStatus.IsSuccess(rowStatus);
            (rowFailed ? rejected : accepted).Add(submission);
        }
    }

    /// <summary>YANINGAI message ids are 32 lowercase hex digits.</summary>
    private static bool IsMessageId(string value) => value.Length == 32 && value.All(char.IsAsciiHexDigitLower);

    /// <summary>A target as sent (national digits, email) or as answered (country code + those digits).</summary>
    private static bool NamesTarget(string value, HashSet<string> targets)
    {
        if (targets.Contains(value)) return true;
        if (!value.All(char.IsAsciiDigit)) return false;
        // Country codes are 1–3 digits.
        for (var codeLength = 1; codeLength <= 3 && codeLength < value.Length; codeLength++)
        {
            if (targets.Contains(value[codeLength..])) return true;
        }
        return false;
    }

    private static string? Text(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var value) ? Scalar(value) : null;

    private static string? Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.GetRawText(),
        _ => null,
    };

    private static bool TryInt(JsonElement obj, string name, out int value)
    {
        value = 0;
        return obj.TryGetProperty(name, out var element) && TryIntValue(element, out value);
    }

    public static bool TryIntValue(JsonElement element, out int value)
    {
        value = 0;
        return element.ValueKind switch
        {
            JsonValueKind.Number => element.TryGetInt32(out value),
            JsonValueKind.String => int.TryParse(element.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value),
            _ => false,
        };
    }
}
