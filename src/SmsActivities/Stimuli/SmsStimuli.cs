using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using SmsActivities.Persistence;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Stimuli;

/// <summary>
/// How vendor events become runtime stimuli. Bookmarks and triggers match by an exact hash of (name, payload), so
/// every filter a designer may leave open ("any vendor", "any keyword", "any extend") is written as the wildcard
/// <see cref="Any"/> in the indexed payload, and one event is published once per combination of its concrete value
/// and the wildcard. A trigger filtering on vendor "tencent" and keyword "STOP" therefore matches exactly one variant
/// of a Tencent "stop" reply, and a trigger with every filter open matches the all-wildcard variant: each matching
/// workflow starts once, with no scan over definitions. Filters that cannot be hashed (a regex) are checked when the
/// activity runs.
/// </summary>
public static class SmsStimuli
{
    public const string Any = "*";

    public const string WaitForDeliveryReport = "SmsActivities.WaitForDeliveryReport";
    public const string DeliveryReportReceived = "SmsActivities.DeliveryReportReceived";
    public const string WaitForReply = "SmsActivities.WaitForReply";
    public const string SmsReplyReceived = "SmsActivities.SmsReplyReceived";
    public const string EmailEventReceived = "SmsActivities.EmailEventReceived";

    /// <summary>
    /// The stimulus of a report that settles a send in doubt: it resumes the wait on that recipient of that send, and
    /// stays in the inbox until the wait begins (the report can beat the send's completion). Deduped like the report.
    /// </summary>
    public static Stimulus ForInDoubtReport(DeliveryReport report, string sendKey, string mobile, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new Stimulus(WaitForDeliveryReport, SmsBookmarkPayload.Node(new InDoubtReportBookmark(sendKey, mobile)), ReportInput(report, receivedAt).ToJson())
        {
            DedupeKey = $"report:{report.Vendor.ToLowerInvariant()}:{report.MessageId}:{report.Status}:in-doubt:{sendKey}",
            KeepInInbox = true,
        };
    }

    /// <summary>
    /// The stimulus of a report of a message on a send's records: it resumes the one wait on that send, and stays in the
    /// inbox until the wait's bookmark is committed. Deduped like the report. It carries the send's
    /// <paramref name="counts"/> as read after the report was stored (see <see cref="SendReportInput"/>).
    /// </summary>
    public static Stimulus ForSendReport(DeliveryReport report, string sendKey, SendReportCounts counts, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new Stimulus(WaitForDeliveryReport, SmsBookmarkPayload.Node(new SendReportsBookmark(sendKey)), SendReportInput.With(ReportInput(report, receivedAt), counts))
        {
            DedupeKey = $"report:{report.Vendor.ToLowerInvariant()}:{report.MessageId}:{report.Status}:send:{sendKey}",
            KeepInInbox = true,
        };
    }

    /// <summary>Trigger/bookmark payload of DeliveryReportReceived.</summary>
    public static DeliveryReportFilter ReportFilter(string? vendor, string? status) => new(Norm(vendor), Norm(status));

    /// <summary>Bookmark payload of WaitForReply: the sender, and the extend code or the wildcard.</summary>
    public static ReplyBookmark ReplyBookmark(string mobile, string? extend) => new(mobile, ExtendOrAny(extend));

    /// <summary>Trigger/bookmark payload of SmsReplyReceived.</summary>
    public static ReplyFilter ReplyFilter(string? vendor, string? keyword, string? extend) => new(Norm(vendor), Norm(keyword, upper: true), ExtendOrAny(extend));

    private static string ExtendOrAny(string? extend) => string.IsNullOrWhiteSpace(extend) ? Any : extend.Trim();

    /// <summary>The keyword of a reply: its first word, upper-cased ("stop please" → "STOP", "退订" → "退订").</summary>
    public static string KeywordOf(string text)
    {
        var trimmed = text.Trim();
        var end = 0;
        while (end < trimmed.Length && !char.IsWhiteSpace(trimmed[end]) && !char.IsPunctuation(trimmed[end])) end++;
        return trimmed[..end].ToUpperInvariant();
    }

    public static DeliveryReportInput ReportInput(DeliveryReport report, DateTimeOffset receivedAt) =>
        new(report.Vendor, report.MessageId, report.Mobile, report.Status.ToString(), report.VendorCode, report.Description, report.ReportedAt, receivedAt);

    public static ReplyInput ReplyInput(InboundReply reply, DateTimeOffset receivedAt) =>
        new(reply.Vendor, reply.Mobile, reply.Text, reply.Extend, KeywordOf(reply.Text), reply.ReceivedAt, receivedAt);

    /// <summary>
    /// The stimuli of one delivery report. The WaitForDeliveryReport one stays in the durable inbox when nothing waits
    /// yet (a report often arrives before the waiting workflow has committed its bookmark); the trigger variants do not.
    /// Dedupe key: vendor + message id + status (+ the variant), so a vendor's retried push changes nothing.
    /// </summary>
    public static IReadOnlyList<Stimulus> ForReport(DeliveryReport report, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(report);
        var vendor = report.Vendor.ToLowerInvariant();
        var key = $"report:{vendor}:{report.MessageId}:{report.Status}";
        // Serialized once; each stimulus gets its own copy (a copy of the JSON, cheaper than serializing the record again).
        var input = ReportInput(report, receivedAt).ToJson();
        var stimuli = new List<Stimulus>
        {
            new(WaitForDeliveryReport, SmsBookmarkPayload.Node(DeliveryReportBookmark.For(vendor, report.MessageId)), input) { DedupeKey = key, KeepInInbox = true },
        };
        foreach (var v in new[] { vendor, Any })
        foreach (var s in new[] { report.Status.ToString(), Any })
        {
            stimuli.Add(new Stimulus(DeliveryReportReceived, SmsBookmarkPayload.Node(ReportFilter(v, s)), input.DeepClone().AsObject())
            {
                DedupeKey = $"{key}:trigger:{v}:{s}",
                KeepInInbox = false,
            });
        }
        return stimuli;
    }

    /// <summary>
    /// The stimuli of one inbound reply. The WaitForReply ones stay in the durable inbox when nothing waits yet: a
    /// handset that answers the moment the question arrives can beat the workflow committing its wait, and that reply
    /// is then claimed, once, by the wait when it begins. Whether a claimed reply is fresh enough to answer the wait is
    /// WaitForReply's decision (<see cref="Hosting.SmsActivitiesOptions.ReplyClaimWindow"/>), so an old reply cannot
    /// answer a new question. The trigger variants do not wait (a reply starts the workflows listening now), and are
    /// remembered even when they matched nothing, so the vendor re-pushing the reply (our acknowledgement got lost)
    /// cannot start a workflow that was published in between.
    /// </summary>
    public static IReadOnlyList<Stimulus> ForReply(InboundReply reply, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var vendor = reply.Vendor.ToLowerInvariant();
        var id = reply.VendorReplyId is { Length: > 0 } rid ? rid : Fingerprint(reply);
        var key = $"reply:{vendor}:{id}";
        // Serialized once; each stimulus gets its own copy (as for a report).
        var input = ReplyInput(reply, receivedAt).ToJson();
        var extends = string.IsNullOrWhiteSpace(reply.Extend) ? new[] { Any } : [reply.Extend.Trim(), Any];
        var keyword = KeywordOf(reply.Text);
        var keywords = keyword.Length == 0 ? new[] { Any } : [keyword, Any];

        var stimuli = new List<Stimulus>();
        foreach (var e in extends)
        {
            stimuli.Add(new Stimulus(WaitForReply, SmsBookmarkPayload.Node(ReplyBookmark(reply.Mobile, e)), input.DeepClone().AsObject())
            {
                DedupeKey = $"{key}:wait:{e}",
                KeepInInbox = true,
            });
        }
        foreach (var v in new[] { vendor, Any })
        foreach (var k in keywords)
        foreach (var e in extends)
        {
            stimuli.Add(new Stimulus(SmsReplyReceived, SmsBookmarkPayload.Node(ReplyFilter(v, k, e)), input.DeepClone().AsObject())
            {
                DedupeKey = $"{key}:trigger:{v}:{k}:{e}",
                KeepInInbox = false,
                RememberWhenUnmatched = true,
            });
        }
        return stimuli;
    }

    public static Stimulus ForEmailEvent(EmailEvent email, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(email);
        var vendor = email.Vendor.ToLowerInvariant();
        return new Stimulus(EmailEventReceived, new JsonObject { ["vendor"] = vendor, ["messageId"] = email.MessageId }, new JsonObject
        {
            ["vendor"] = vendor,
            ["messageId"] = email.MessageId,
            ["email"] = email.Email,
            ["kind"] = email.Kind.ToString(),
            ["detail"] = email.Detail,
            ["occurredAt"] = email.OccurredAt,
            ["receivedAt"] = receivedAt,
        })
        {
            DedupeKey = $"email:{vendor}:{email.MessageId}:{email.Email}:{email.Kind}:{email.OccurredAt.UtcTicks.ToString(CultureInfo.InvariantCulture)}",
            KeepInInbox = false,
        };
    }

    /// <summary>Replies without a vendor id are identified by their content and time, so a re-pushed reply is recognised.</summary>
    private static string Fingerprint(InboundReply reply)
    {
        var text = string.Join('\n', reply.Mobile, reply.Text, reply.Extend ?? "", reply.ReceivedAt.UtcTicks.ToString(CultureInfo.InvariantCulture));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..32];
    }

    private static string Norm(string? value, bool upper = false) =>
        string.IsNullOrWhiteSpace(value) || value.Trim() == Any || value.Trim().Equals("Any", StringComparison.OrdinalIgnoreCase)
            ? Any
            : upper ? value.Trim().ToUpperInvariant() : value.Trim().ToLowerInvariant();
}
