using System.Text.Json.Nodes;
using SmsActivities.Persistence;
using SmsActivities.Workflows.Execution;
using SmsActivities.Workflows.Expressions;

namespace SmsActivities.Stimuli;

/// <summary>
/// One typed payload per kind of SMS bookmark and trigger, in Elsa's style (<c>HttpEndpointBookmarkPayload</c> and the
/// like). Activities create their bookmarks from these, and the webhooks publish their stimuli with the same records, so
/// a bookmark and the stimulus meant for it are made from one type and hashed by <see cref="SmsBookmarkPayload.Hash"/>.
/// The JSON of each record (camel-cased properties, as the runtime serializes payloads) is what is hashed, so its
/// property names are part of the stored bookmarks' identity: renaming one orphans the bookmarks already waiting.
/// </summary>
public static class SmsBookmarkPayload
{
    /// <summary>The payload as the runtime stores and hashes it.</summary>
    public static JsonNode Node(object payload) => ValueConverter.ToNode(payload)!;

    /// <summary>The hash a bookmark named <paramref name="name"/> with this payload is found by (the runtime's hash).</summary>
    public static string Hash(string name, object payload) => BookmarkHasher.Hash(name, Node(payload));
}

/// <summary>WaitForDeliveryReport's bookmark: the report of one message (vendor lower-cased, as reports name it).</summary>
public sealed record DeliveryReportBookmark(string Vendor, string MessageId)
{
    public static DeliveryReportBookmark For(string vendor, string messageId) => new(vendor.ToLowerInvariant(), messageId);
}

/// <summary>
/// WaitForDeliveryReport's one bookmark on a whole send (its idempotency key): every report of a message on that send's
/// records resumes it, and the wait counts its progress from the records.
/// </summary>
public sealed record SendReportsBookmark(string Send);

/// <summary>WaitForDeliveryReport's bookmark for a recipient in doubt: the send (its idempotency key) and the number (waits begun before the one-bookmark wait).</summary>
public sealed record InDoubtReportBookmark(string Send, string Mobile);

/// <summary>DeliveryReportReceived's trigger and bookmark: vendor and status, each a value or the wildcard.</summary>
public sealed record DeliveryReportFilter(string Vendor, string Status);

/// <summary>WaitForReply's bookmark: the sender, and the extend code or the wildcard.</summary>
public sealed record ReplyBookmark(string Mobile, string Extend);

/// <summary>SmsReplyReceived's trigger and bookmark: vendor, keyword and extend code, each a value or the wildcard.</summary>
public sealed record ReplyFilter(string Vendor, string Keyword, string Extend);

/// <summary>What a delivery report resumes or starts a workflow with.</summary>
public sealed record DeliveryReportInput(
    string Vendor, string MessageId, string? Mobile, string Status, string? VendorCode, string? Description, DateTimeOffset? ReportedAt, DateTimeOffset? ReceivedAt)
{
    public JsonObject ToJson() => (JsonObject)SmsBookmarkPayload.Node(this);

    /// <summary>The input a stimulus brought; fields it lacks are empty (status Unknown).</summary>
    public static DeliveryReportInput From(JsonObject? input) =>
        (input is null ? null : ValueConverter.Convert<DeliveryReportInput>(input)) is { } read
            ? read with { Vendor = read.Vendor ?? "", MessageId = read.MessageId ?? "", Status = read.Status ?? "Unknown" }
            : new DeliveryReportInput("", "", null, "Unknown", null, null, null, null);
}

/// <summary>
/// What a report of a send's message resumes the wait on that send with: the report, and the send's counts as the
/// publisher read them after storing every report and settlement of its batch. Whoever stores the last report of a send
/// counts after that write, so one of the send's stimuli carries nothing pending: the wait ends on it without reading the
/// tables again. Stimuli stored by earlier versions carry no counts; the wait counts from the tables then.
/// </summary>
public static class SendReportInput
{
    private const string CountsProperty = "sendCounts";

    public static JsonObject With(DeliveryReportInput report, SendReportCounts counts)
    {
        ArgumentNullException.ThrowIfNull(report);
        var input = report.ToJson();
        input[CountsProperty] = SmsBookmarkPayload.Node(counts);
        return input;
    }

    /// <summary>The counts the stimulus carried; null when it carried none.</summary>
    public static SendReportCounts? CountsOf(JsonObject? input) =>
        input?[CountsProperty] is JsonObject counts ? ValueConverter.Convert<SendReportCounts>(counts) : null;
}

/// <summary>What an inbound reply resumes or starts a workflow with.</summary>
public sealed record ReplyInput(
    string? Vendor, string? Mobile, string? Text, string? Extend, string? Keyword, DateTimeOffset? ReplyReceivedAt, DateTimeOffset? ReceivedAt)
{
    public JsonObject ToJson() => (JsonObject)SmsBookmarkPayload.Node(this);

    public static ReplyInput From(JsonObject? input) =>
        (input is null ? null : ValueConverter.Convert<ReplyInput>(input)) ?? new ReplyInput(null, null, null, null, null, null, null);
}
