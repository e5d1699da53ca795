using SmsActivities.Vendors.Tencent;

namespace SmsActivities.Vendors.Tests.Tencent;

public class TencentWebhookReaderTests
{
    // The doc's status callback example (its trailing "{}..." is prose, not JSON).
    private const string DocStatusExample = """
        [
        {
          "user_receive_time": "2015-10-17 08:03:04",
          "nationcode": "86",
          "mobile": "13xxxxxxxx",
          "report_status": "SUCCESS",
          "errmsg": "DELIVRD",
          "description": "The SMS message is successfully sent ",
          "sid": "xxxxxxx"
        }
        ]
        """;

    // The doc's reply callback example, with its placeholder mobile "13xxxxxxxx" given real digits.
    private const string DocReplyExample = """
        {
          "nationcode": "86",
          "mobile": "13788888888",
          "text": "User's reply",
          "sign": "SMS signature",
          "time": 1457336869,
          "extend": "Extended code"
        }
        """;

    private readonly TencentStatusCallbackReader _status = new();
    private readonly TencentReplyCallbackReader _reply = new();

    [Fact]
    public void Reads_the_doc_status_example_and_acknowledges_the_tencent_way()
    {
        var result = _status.Read(WebhookRequest.Json(DocStatusExample));

        Assert.True(result.IsValid, result.Error);
        var report = Assert.Single(result.Reports);
        Assert.Equal(VendorNames.Tencent, report.Vendor);
        Assert.Equal("xxxxxxx", report.MessageId);
        Assert.Equal(DeliveryStatus.Delivered, report.Status);
        Assert.Equal("DELIVRD", report.VendorCode);
        // The placeholder is no phone number: the report still counts, keyed by sid.
        Assert.Null(report.Mobile);
        Assert.Equal(new DateTimeOffset(2015, 10, 17, 8, 3, 4, TimeSpan.FromHours(8)), report.ReportedAt);
        Assert.Equal("""{"result":0,"errmsg":"OK"}""", result.Acknowledgement.Body);
        Assert.Equal(200, result.Acknowledgement.StatusCode);
        Assert.StartsWith("application/json", result.Acknowledgement.ContentType, StringComparison.Ordinal);
        Assert.Equal("status", _status.Kind);
    }

    [Fact]
    public void One_status_push_can_carry_many_records()
    {
        var result = _status.Read(WebhookRequest.Json("""
            [{"user_receive_time":"2026-11-21 10:00:00","nationcode":"86","mobile":"13788888888","report_status":"SUCCESS","errmsg":"DELIVRD","description":"ok","sid":"a"},
             {"user_receive_time":"2026-11-21 10:00:01","nationcode":"44","mobile":"7911123456","report_status":"FAIL","errmsg":"EMPTY","description":"no such number","sid":"b"}]
            """));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal([("a", DeliveryStatus.Delivered, "+8613788888888"), ("b", DeliveryStatus.Failed, "+447911123456")],
            result.Reports.Select(r => (r.MessageId, r.Status, r.Mobile)));
    }

    [Fact]
    public void Reads_the_doc_reply_example()
    {
        var result = _reply.Read(WebhookRequest.Json(DocReplyExample));

        Assert.True(result.IsValid, result.Error);
        var reply = Assert.Single(result.Replies);
        Assert.Equal("+8613788888888", reply.Mobile);
        Assert.Equal("User's reply", reply.Text);
        Assert.Equal("Extended code", reply.Extend);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1457336869), reply.ReceivedAt);
        Assert.Equal(TencentAcknowledgement.Body, result.Acknowledgement.Body);
        Assert.Equal("reply", _reply.Kind);
    }

    [Fact]
    public void Reads_a_reply_sent_as_query_parameters()
    {
        var query = new Dictionary<string, string> { ["nationcode"] = "86", ["mobile"] = "13788888888", ["text"] = "Y", ["time"] = "1457336869" };
        var request = new WebhookRequest("GET", null, [], query, new Dictionary<string, string>());

        var reply = Assert.Single(_reply.Read(request).Replies);

        Assert.Equal(("+8613788888888", "Y"), (reply.Mobile, reply.Text));
        Assert.False(_reply.Read(request with { Query = new Dictionary<string, string>(query) { ["time"] = "soon" } }).IsValid);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"sid":"a"}""")]
    [InlineData("""[{"report_status":"SUCCESS"}]""")]
    [InlineData("""[null]""")]
    [InlineData("""[{"sid":"a","user_receive_time":5}]""")]
    public void Malformed_status_pushes_are_rejected_with_a_reason(string body)
    {
        var result = _status.Read(WebhookRequest.Json(body));

        Assert.False(result.IsValid);
        Assert.Equal(400, result.RejectStatus);
        Assert.False(string.IsNullOrEmpty(result.Error));
        Assert.Empty(result.Reports);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("""{"nationcode":"86","mobile":"13xxxxxxxx","text":"hi","time":1}""")]
    [InlineData("""{"nationcode":"86","mobile":"13788888888","time":1}""")]
    [InlineData("""{"nationcode":"86","mobile":"13788888888","text":"hi","time":"yesterday"}""")]
    public void Malformed_reply_pushes_are_rejected_with_a_reason(string body)
    {
        var result = _reply.Read(WebhookRequest.Json(body));

        Assert.False(result.IsValid);
        Assert.Equal(400, result.RejectStatus);
        Assert.False(string.IsNullOrEmpty(result.Error));
    }
}
