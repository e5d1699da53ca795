using System.Globalization;

namespace SmsActivities.Vendors.Tencent;

/// <summary>Wire records to the normalized model; shared by the webhook readers and the pull APIs.</summary>
internal static class TencentMapping
{
    // DateTimeOffset.MinValue and MaxValue in Unix seconds.
    private const long MinUnixSeconds = -62135596800;
    private const long MaxUnixSeconds = 253402300799;

    public static bool TryToReport(TencentStatusRecord record, DateTimeOffset now, out DeliveryReport report, out string? error)
    {
        report = null!;
        if (string.IsNullOrWhiteSpace(record.Sid))
        {
            error = "a status record has no sid";
            return false;
        }

        var status = record.ReportStatus?.ToUpperInvariant() switch
        {
            "SUCCESS" => DeliveryStatus.Delivered,
            "FAIL" => DeliveryStatus.Failed,
            _ => DeliveryStatus.Unknown,
        };
        var at = DateTime.TryParseExact(record.UserReceiveTime, TencentJson.ReceiveTimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local)
            && VendorClockTime.TryAt(local, TencentJson.ChinaOffset, out var received)
            ? received
            : now;
        report = new DeliveryReport(VendorNames.Tencent, record.Sid, E164(record.Nationcode, record.Mobile), status, record.Errmsg, record.Description, at);
        error = null;
        return true;
    }

    public static bool TryToReply(TencentReplyRecord record, out InboundReply reply, out string? error)
    {
        reply = null!;
        var mobile = E164(record.Nationcode, record.Mobile);
        if (mobile is null)
        {
            error = "a reply has no valid nationcode + mobile";
            return false;
        }
        if (record.Text is null)
        {
            error = "a reply has no text";
            return false;
        }
        if (record.Time is < MinUnixSeconds or > MaxUnixSeconds)
        {
            error = "a reply's time must be Unix seconds between years 1 and 9999";
            return false;
        }
        reply = new InboundReply(VendorNames.Tencent, mobile, record.Text, string.IsNullOrEmpty(record.Extend) ? null : record.Extend,
            DateTimeOffset.FromUnixTimeSeconds(record.Time));
        error = null;
        return true;
    }

    private static string? E164(string? nationcode, string? mobile) =>
        string.IsNullOrEmpty(nationcode) || string.IsNullOrEmpty(mobile) ? null : new TencentTel(nationcode, mobile).ToE164();
}
