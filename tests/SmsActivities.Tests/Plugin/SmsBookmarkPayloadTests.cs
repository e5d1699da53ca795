using System.Text.Json.Nodes;
using SmsActivities.Persistence;
using SmsActivities.Stimuli;
using SmsActivities.Vendors;
using SmsActivities.Workflows.Execution;

namespace SmsActivities.Tests.Plugin;

/// <summary>
/// The typed bookmark payloads hash exactly as the JSON objects the earlier versions stored did, so bookmarks and
/// triggers already in a database keep matching the stimuli of this version; and a stimulus is found by the bookmark an
/// activity makes from the same record.
/// </summary>
public sealed class SmsBookmarkPayloadTests
{
    [Fact]
    public void Each_payload_hashes_as_the_json_stored_before()
    {
        AssertSameHash(SmsStimuli.WaitForDeliveryReport, DeliveryReportBookmark.For("Tencent", "m-1"), """{"vendor":"tencent","messageId":"m-1"}""");
        AssertSameHash(SmsStimuli.DeliveryReportReceived, SmsStimuli.ReportFilter(null, "delivered"), """{"vendor":"*","status":"delivered"}""");
        AssertSameHash(SmsStimuli.WaitForReply, SmsStimuli.ReplyBookmark("+8613800138000", " 12 "), """{"mobile":"+8613800138000","extend":"12"}""");
        AssertSameHash(SmsStimuli.SmsReplyReceived, SmsStimuli.ReplyFilter("Any", "stop", null), """{"vendor":"*","keyword":"STOP","extend":"*"}""");
        AssertSameHash(SmsStimuli.WaitForDeliveryReport, new InDoubtReportBookmark("k-1", "+8613800138000"), """{"send":"k-1","mobile":"+8613800138000"}""");
        AssertSameHash(SmsStimuli.WaitForDeliveryReport, new SendReportsBookmark("k-1"), """{"send":"k-1"}""");
    }

    [Fact]
    public void A_report_on_a_send_resumes_the_one_wait_on_that_send_and_is_deduped_per_send()
    {
        var report = new DeliveryReport("Tencent", "m-4", "+8613800138000", DeliveryStatus.Failed, "MK:0001", null, DateTimeOffset.UnixEpoch);
        var stimulus = SmsStimuli.ForSendReport(report, "k-2", new SendReportCounts(3, 2, 1, 0), DateTimeOffset.UnixEpoch);

        Assert.Equal(SmsBookmarkPayload.Hash(SmsStimuli.WaitForDeliveryReport, new SendReportsBookmark("k-2")), stimulus.Hash);
        Assert.True(stimulus.KeepInInbox, "a report on a send must wait in the inbox for a wait not committed yet");
        Assert.Equal("report:tencent:m-4:Failed:send:k-2", stimulus.DedupeKey);
        Assert.Equal("Failed", DeliveryReportInput.From(stimulus.Input).Status);
        Assert.Equal(new SendReportCounts(3, 2, 1, 0), SendReportInput.CountsOf(stimulus.Input));
        Assert.Null(SendReportInput.CountsOf(DeliveryReportInput.From(stimulus.Input).ToJson()));
    }

    [Fact]
    public void A_report_stimulus_carries_the_hash_of_the_bookmark_made_for_its_message_and_a_typed_input()
    {
        var receivedAt = new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);
        var reportedAt = receivedAt.AddSeconds(-5);
        var report = new DeliveryReport("Tencent", "m-2", "+8613800138000", DeliveryStatus.Delivered, "DELIVRD", null, reportedAt);
        var stimuli = SmsStimuli.ForReport(report, receivedAt);

        var wait = Assert.Single(stimuli, s => s.Name == SmsStimuli.WaitForDeliveryReport);
        Assert.Equal(SmsBookmarkPayload.Hash(SmsStimuli.WaitForDeliveryReport, DeliveryReportBookmark.For("tencent", "m-2")), wait.Hash);
        var input = DeliveryReportInput.From(wait.Input);
        Assert.Equal(new DeliveryReportInput("Tencent", "m-2", "+8613800138000", "Delivered", "DELIVRD", null, reportedAt, receivedAt), input);
        // Four trigger variants (vendor or any × status or any), each with its own copy of the input.
        Assert.Equal(4, stimuli.Count(s => s.Name == SmsStimuli.DeliveryReportReceived));
        Assert.Equal(4, stimuli.Where(s => s.Name == SmsStimuli.DeliveryReportReceived).Select(s => s.Input).Distinct(ReferenceEqualityComparer.Instance).Count());
    }

    [Fact]
    public void Inputs_missing_fields_read_as_empty_not_as_errors()
    {
        var report = DeliveryReportInput.From(new JsonObject { ["messageId"] = "m-3" });
        Assert.Equal(new DeliveryReportInput("", "m-3", null, "Unknown", null, null, null, null), report);
        Assert.Null(ReplyInput.From(null).Text);
    }

    private static void AssertSameHash(string name, object payload, string storedJson) =>
        Assert.True(BookmarkHasher.Hash(name, JsonNode.Parse(storedJson)) == SmsBookmarkPayload.Hash(name, payload),
            $"{name}: typed payload {SmsBookmarkPayload.Node(payload).ToJsonString()} does not hash as the stored {storedJson}");
}
