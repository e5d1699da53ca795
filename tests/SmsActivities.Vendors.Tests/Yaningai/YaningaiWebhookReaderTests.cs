using SmsActivities.Vendors.Yaningai;

namespace SmsActivities.Vendors.Tests.Yaningai;

/// <summary>The readers on the doc's own push examples and on malformed pushes.</summary>
public class YaningaiWebhookReaderTests
{
    private const string DocSmsReport = """
        {
            "type": "sms",
            "cnt": 2,
            "array": [
                ["48d5112288668ebb049dbb9034402910",
                    "86136****1111",
                    "2023-04-11T16:50:01+08:00",
                    1,
                    "success",
                    "20221102xxxxx",
                    "1",
                    "0.1"
                ],
                [
                    "c11d34242000e541f63fbdef3e36b1db",
                    "8613722222222",
                    "2023-04-11T16:51:21+08:00",
                    -9,
                    "number error",
                    "20221102xxxxx",
                    "1",
                    "0.1"
                ]
            ]
        }
        """;

    private const string DocVoiceReport = """
        {
            "type": "vos",
            "cnt": 2,
            "array": [
                ["48d5112288668ebb049dbb9034402910",
                    "86136****1111",
                    "2023-04-11T16:50:01+08:00",
                    1,
                    "success",
                    "20221102xxxxx"
                ],
                [
                    "c11d34242000e541f63fbdef3e36b1db",
                    "8613722222222",
                    "2023-04-11T16:50:01+08:00",
                    1,
                    "success",
                    "20221102xxxxx"
                ]
            ]
        }
        """;

    private const string DocEmailReport = """
        {
        	"type": "mail",
        	"cnt": 2,
        	"array": [
        		["48d5112288668ebb049dbb9034402910",
        			"123@email.com",
        			"2023-04-11T16:50:01+08:00",
        			1,
        			"success",
        			"20221102xxxxx"
        		],
        		[
        			"c11d34242000e541f63fbdef3e36b1db",
        			"456@email.com",
        			"2023-04-11T16:50:01+08:00", -9,
        			"email error",
        			"20221102xxxxx"
        		]
        	]
        }
        """;

    private const string DocEmailTracking = """
        {
            "type": "MailUserEvent",
            "cnt": 1,
            "array": [{
              "mssId": "e904aed7624f7d349c6078f20093784f",
              "taskName": "17117048141041790",
              "domain": "frs-email.com",
              "receive_email": "110379407@qq.com",
              "time": 1711958483,
              "action_type": "OPENED",
              "country_name": "United States",
              "city": "Los Angeles",
              "device_type": "Phone",
              "device_name": "Apple"
              }
            ]
        }
        """;

    private const string DocUplink = """
        {
            "fromNum": "614899xxxxx",
            "to": "614040xxxxx",
            "content": "I want it",
            "datetime": "1680278400"
        }
        """;

    [Fact]
    public void Sms_report_example_gives_one_delivered_and_one_failed_report()
    {
        var result = new YaningaiSmsReportReader().Read(WebhookRequest.Json(DocSmsReport));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(WebhookAcknowledgement.Ok, result.Acknowledgement);
        Assert.Collection(result.Reports,
            delivered =>
            {
                Assert.Equal("48d5112288668ebb049dbb9034402910", delivered.MessageId);
                Assert.Equal(DeliveryStatus.Delivered, delivered.Status);
                Assert.Null(delivered.Mobile); // masked in the example
                Assert.Equal(new DateTimeOffset(2023, 4, 11, 16, 50, 1, TimeSpan.FromHours(8)), delivered.ReportedAt);
            },
            failed =>
            {
                Assert.Equal("c11d34242000e541f63fbdef3e36b1db", failed.MessageId);
                Assert.Equal("+8613722222222", failed.Mobile);
                Assert.Equal(DeliveryStatus.Failed, failed.Status);
                Assert.Equal("-9", failed.VendorCode);
                Assert.Equal("number error", failed.Description);
            });
        Assert.All(result.Reports, r => Assert.Equal(VendorNames.Yaningai, r.Vendor));
    }

    [Fact]
    public void Voice_report_example_gives_two_delivered_reports()
    {
        var result = new YaningaiVoiceReportReader().Read(WebhookRequest.Json(DocVoiceReport));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal(2, result.Reports.Count);
        Assert.All(result.Reports, r => Assert.Equal(DeliveryStatus.Delivered, r.Status));
        Assert.Equal("+8613722222222", result.Reports[1].Mobile);
    }

    [Fact]
    public void Email_report_example_gives_delivered_and_failed_events()
    {
        var result = new YaningaiEmailReportReader().Read(WebhookRequest.Json(DocEmailReport));

        Assert.True(result.IsValid, result.Error);
        Assert.Equal([EmailEventKind.Delivered, EmailEventKind.Failed], result.EmailEvents.Select(e => e.Kind));
        Assert.Equal(["123@email.com", "456@email.com"], result.EmailEvents.Select(e => e.Email));
        Assert.Contains("email error", result.EmailEvents[1].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Email_tracking_example_gives_an_open_event()
    {
        var result = new YaningaiEmailTrackingReader().Read(WebhookRequest.Json(DocEmailTracking));

        Assert.True(result.IsValid, result.Error);
        var opened = Assert.Single(result.EmailEvents);
        Assert.Equal(EmailEventKind.Opened, opened.Kind);
        Assert.Equal("e904aed7624f7d349c6078f20093784f", opened.MessageId);
        Assert.Equal("110379407@qq.com", opened.Email);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1711958483), opened.OccurredAt);
        Assert.Equal("OPENED in Los Angeles, United States on Phone Apple", opened.Detail);
    }

    [Fact]
    public void Uplink_example_gives_a_reply_once_its_masked_digits_are_filled_in()
    {
        var reader = new YaningaiUplinkReader();

        // Verbatim, the example's number is masked ("614040xxxxx"), which no reader can turn into a mobile.
        var masked = reader.Read(WebhookRequest.Json(DocUplink));
        Assert.False(masked.IsValid);
        Assert.Equal(400, masked.RejectStatus);

        var result = reader.Read(WebhookRequest.Json(DocUplink.Replace("xxxxx", "12345", StringComparison.Ordinal)));
        Assert.True(result.IsValid, result.Error);
        var reply = Assert.Single(result.Replies);
        Assert.Equal("+61404012345", reply.Mobile);
        Assert.Equal("I want it", reply.Text);
        Assert.Equal("61489912345", reply.Extend);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1680278400), reply.ReceivedAt);
    }

    public static TheoryData<string, string> MalformedReports => new()
    {
        { "not json", "not JSON" },
        { "[1,2]", "JSON object" },
        { """{"type":"vos","cnt":0,"array":[]}""", "type" },
        { """{"type":"sms","cnt":1}""", "'array'" },
        { """{"type":"sms","cnt":2,"array":[["a","8613722222222","2023-04-11T16:50:01+08:00",1,"success"]]}""", "'cnt'" },
        { """{"type":"sms","cnt":1,"array":[["a","8613722222222","2023-04-11T16:50:01+08:00",1]]}""", "at least 5" },
        { """{"type":"sms","cnt":1,"array":[["","8613722222222","2023-04-11T16:50:01+08:00",1,"success"]]}""", "message id" },
        { """{"type":"sms","cnt":1,"array":[["a","8613722222222","yesterday",1,"success"]]}""", "time" },
        { """{"type":"sms","cnt":1,"array":[["a","8613722222222","2023-04-11T16:50:01+08:00","ok","success"]]}""", "status" },
        { """{"type":"sms","cnt":1,"array":[{"id":"a"}]}""", "row" },
    };

    [Theory]
    [MemberData(nameof(MalformedReports))]
    public void Malformed_reports_are_rejected_with_a_reason(string body, string reasonPart)
    {
        var result = new YaningaiSmsReportReader().Read(WebhookRequest.Json(body));

        Assert.False(result.IsValid);
        Assert.Equal(400, result.RejectStatus);
        Assert.Contains(reasonPart, result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Reports);
    }

    [Theory]
    [InlineData("""{"type":"MailUserEvent","cnt":1,"array":[{"mssId":"a","receive_email":"x@y.com","action_type":"OPENED"}]}""", "time")]
    [InlineData("""{"type":"MailUserEvent","cnt":1,"array":[{"receive_email":"x@y.com","time":1,"action_type":"OPENED"}]}""", "mssId")]
    [InlineData("""{"type":"mail","cnt":0,"array":[]}""", "MailUserEvent")]
    [InlineData("""{"type":"MailUserEvent","cnt":1,"array":[["a"]]}""", "object")]
    public void Malformed_tracking_pushes_are_rejected(string body, string reasonPart)
    {
        var result = new YaningaiEmailTrackingReader().Read(WebhookRequest.Json(body));
        Assert.False(result.IsValid);
        Assert.Contains(reasonPart, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"fromNum":"1069","to":"61404012345","content":"hi","datetime":"yesterday"}""", "datetime")]
    [InlineData("""{"fromNum":"1069","to":"61404012345","datetime":"1680278400"}""", "content")]
    [InlineData("""{"fromNum":"1069","content":"hi","datetime":"1680278400"}""", "'to'")]
    [InlineData("{", "not JSON")]
    public void Malformed_uplinks_are_rejected(string body, string reasonPart)
    {
        var result = new YaningaiUplinkReader().Read(WebhookRequest.Json(body));
        Assert.False(result.IsValid);
        Assert.Contains(reasonPart, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Pushes_must_come_by_post_and_reach_the_reader_of_their_type()
    {
        var get = WebhookRequest.Json(DocSmsReport) with { Method = "GET" };
        Assert.False(new YaningaiSmsReportReader().Read(get).IsValid);
        Assert.False(new YaningaiSmsReportReader().Read(WebhookRequest.Json(DocVoiceReport)).IsValid);
        Assert.False(new YaningaiVoiceReportReader().Read(WebhookRequest.Json(DocEmailReport)).IsValid);
        Assert.False(new YaningaiEmailReportReader().Read(WebhookRequest.Json(DocSmsReport)).IsValid);
        // "report" is the documented default type name.
        Assert.True(new YaningaiSmsReportReader().Read(WebhookRequest.Json(DocSmsReport.Replace("\"sms\"", "\"report\"", StringComparison.Ordinal))).IsValid);
    }
}
